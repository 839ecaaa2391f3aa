"""Real scheduler processes (`flask --app wsgi scheduler`) against the test database: exactly one
reminder per booking with two schedulers, a standby that takes over, and catching up after a
stop across the due time. Ticks are 1 s (SCHEDULER_TICK_SECONDS, JOB_INTERVAL_SECONDS)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from equipshare.booking.models import Booking, BookingStatus
from equipshare.db import utcnow
from equipshare.extensions import db
from equipshare.notifications.models import JobRun, OutboxMessage
from tests.factories import make_booking, make_client_user, make_instrument

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 90  # seconds; generous for a loaded 2-core machine, never asserted on


class SchedulerProcess:
    def __init__(self, app, smtp_server, log_path: Path, **settings):
        controller, _ = smtp_server
        env = {**os.environ, "EQUIPSHARE_ENV": "development", "SECRET_KEY": "scheduler-test",
               "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SERVER_BASE_URL": "http://equipshare.test",
               "MAIL_SERVER": controller.hostname, "MAIL_PORT": str(controller.port),
               "SCHEDULER_TICK_SECONDS": "1", "JOB_INTERVAL_SECONDS": "1"}
        env.update({key: str(value) for key, value in settings.items()})
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT, env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.runner = f"scheduler {os.uname().nodename}:{self.proc.pid}"

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture()
def start_scheduler(app, smtp_server, tmp_path):
    started: list[SchedulerProcess] = []

    def start(**settings) -> SchedulerProcess:
        process = SchedulerProcess(app, smtp_server, tmp_path / f"scheduler-{len(started)}.log", **settings)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def wait_until(predicate, what: str, processes=()):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        db.session.rollback()  # see what the other processes committed
        if predicate():
            return
        time.sleep(0.2)
    logs = "\n".join(p.log for p in processes)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def reminder_runs(runner: str | None = None) -> int:
    query = select(func.count()).select_from(JobRun).where(JobRun.job_name == "send-reminders")
    if runner:
        query = query.where(JobRun.runner == runner)
    return db.session.scalar(query)


def end_read_snapshot() -> None:
    """On SQLite (WAL) a transaction that read before others committed cannot write: start afresh."""
    db.session.rollback()


def approved_bookings_starting_soon(count: int) -> list[int]:
    end_read_snapshot()
    instrument = make_instrument()
    base = utcnow().replace(microsecond=0) + timedelta(hours=2)
    ids = [make_booking(instrument, make_client_user(locale="en"), start=base + timedelta(hours=i),
                        status=BookingStatus.APPROVED).id for i in range(count)]
    db.session.commit()
    return ids


def reminders_received(mailbox) -> Counter:
    return Counter(m["Subject"] for m in list(mailbox) if m["Subject"].startswith("Reminder"))


def assert_each_reminded_once(mailbox, booking_ids):
    received = reminders_received(mailbox)
    assert sorted(received.values()) == [1] * len(booking_ids), received
    for booking_id in booking_ids:
        assert any(f"#{booking_id} " in subject for subject in received)
    kinds = db.session.execute(select(OutboxMessage.status, func.count()).where(
        OutboxMessage.kind == "booking.reminder").group_by(OutboxMessage.status)).all()
    assert kinds == [("sent", len(booking_ids))]


def test_two_schedulers_one_leader_each_reminder_once_and_the_standby_takes_over(start_scheduler, mailbox):
    ids = approved_bookings_starting_soon(3)
    first, second = start_scheduler(), start_scheduler()
    both = (first, second)
    wait_until(lambda: len(reminders_received(mailbox)) >= 3, "3 reminders", both)
    wait_until(lambda: reminder_runs() >= 6, "more reminder ticks", both)
    wait_until(lambda: "standing by" in first.log + second.log, "a standby", both)
    assert_each_reminded_once(mailbox, ids)
    leader, standby = (first, second) if reminder_runs(first.runner) else (second, first)
    assert reminder_runs(standby.runner) == 0 and "standing by" in standby.log

    leader.stop()  # the leader goes away; the standby notices at its next tick
    [late] = approved_bookings_starting_soon(1)
    wait_until(lambda: len(reminders_received(mailbox)) >= 4, "the standby's reminder", both)
    runs_before = reminder_runs(standby.runner)
    wait_until(lambda: reminder_runs(standby.runner) >= runs_before + 3, "more ticks of the new leader", both)
    assert "now runs the scheduled jobs" in standby.log
    assert_each_reminded_once(mailbox, [*ids, late])


def test_two_active_schedulers_still_run_each_slot_once(start_scheduler, mailbox, tmp_path):
    """Misconfigured on purpose (different locks), both lead; UNIQUE(job_name, slot) still
    lets only one of them run each slot, so nobody gets a reminder twice."""
    ids = approved_bookings_starting_soon(4)
    first = start_scheduler(SCHEDULER_LOCK_ID=1001, SCHEDULER_LOCK_FILE=tmp_path / "one.lock")
    second = start_scheduler(SCHEDULER_LOCK_ID=1002, SCHEDULER_LOCK_FILE=tmp_path / "two.lock")
    both = (first, second)
    wait_until(lambda: all("now runs the scheduled jobs" in p.log for p in both), "two leaders", both)
    wait_until(lambda: len(reminders_received(mailbox)) >= 4, "4 reminders", both)
    wait_until(lambda: reminder_runs() >= 8, "more reminder ticks", both)
    assert_each_reminded_once(mailbox, ids)
    slots = db.session.execute(select(JobRun.job_name, JobRun.slot)).all()
    assert len(slots) == len(set(slots))


def test_a_reminder_due_while_the_scheduler_was_stopped_is_sent_once_after_restart(start_scheduler, mailbox, app):
    first = start_scheduler()
    wait_until(lambda: reminder_runs(first.runner) >= 2, "the scheduler to run", (first,))
    end_read_snapshot()
    instrument, user = make_instrument(), make_client_user(locale="en")
    due = utcnow() + timedelta(seconds=6)
    booking = make_booking(instrument, user, start=due + timedelta(hours=app.config["REMINDER_HOURS"]),
                           status=BookingStatus.APPROVED)
    db.session.commit()
    first.stop()
    db.session.rollback()
    assert utcnow() < due, "the scheduler took too long to stop; the test proves nothing"
    assert db.session.get(Booking, booking.id).reminder_sent_at is None
    time.sleep((due - utcnow()).total_seconds() + 0.5)  # the due time passes while nothing runs

    second = start_scheduler()
    wait_until(lambda: len(reminders_received(mailbox)) >= 1, "the missed reminder", (second,))
    runs = reminder_runs(second.runner)
    wait_until(lambda: reminder_runs(second.runner) >= runs + 3, "more ticks", (second,))
    assert_each_reminded_once(mailbox, [booking.id])
