"""The jobs, called with a fixed ``now``: state-driven, idempotent, catching up after a gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from equipshare import jobs
from equipshare.booking import services
from equipshare.booking.models import Booking, BookingEvent, BookingStatus
from equipshare.extensions import db
from equipshare.notifications.models import JobRun, NotificationMute, OutboxMessage
from equipshare.notifications.reminders import send_due_reminders
from tests.factories import make_booking, make_client_user, make_instrument, make_manager

START = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


@pytest.fixture()
def world():
    instrument = make_instrument()
    manager = make_manager(instrument.lab, locale="en")
    user = make_client_user(locale="en")
    db.session.commit()
    return instrument, manager, user


def mails(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def reload(booking: Booking) -> Booking:
    db.session.expire_all()
    return db.session.get(Booking, booking.id)


# --- reminders --------------------------------------------------------------------------------


def test_reminder_is_sent_once_within_the_window_and_never_again(world, app):
    instrument, manager, user = world
    booking = make_booking(instrument, user, start=START, status=BookingStatus.APPROVED, version=2)
    db.session.commit()
    hours = app.config["REMINDER_HOURS"]
    assert send_due_reminders(START - timedelta(hours=hours, minutes=1)) == {"reminded": 0}  # too early
    assert send_due_reminders(START - timedelta(hours=hours)) == {"reminded": 1}
    assert send_due_reminders(START - timedelta(hours=hours)) == {"reminded": 0}  # the same run again
    assert send_due_reminders(START - timedelta(hours=1)) == {"reminded": 0}  # a later run
    [mail] = mails("booking.reminder")
    assert mail.to_address == user.email and "starts soon" in mail.subject
    assert mail.attachments[0]["params"]["method"] == "REQUEST"
    assert reload(booking).reminder_sent_at == START - timedelta(hours=hours)


def test_a_missed_window_catches_up_but_never_reminds_of_a_started_booking(world):
    instrument, manager, user = world
    soon = make_booking(instrument, user, start=START, status=BookingStatus.APPROVED)
    started = make_booking(instrument, user, start=START - timedelta(hours=3), status=BookingStatus.APPROVED)
    db.session.commit()
    # Nothing ran for 23 hours: the next run finds the due reminder, not the started booking.
    assert send_due_reminders(START - timedelta(hours=1)) == {"reminded": 1}
    assert reload(soon).reminder_sent_at is not None and reload(started).reminder_sent_at is None


@pytest.mark.parametrize("status", [BookingStatus.PENDING, BookingStatus.CANCELLED, BookingStatus.REJECTED])
def test_only_approved_bookings_are_reminded(world, status):
    instrument, manager, user = world
    make_booking(instrument, user, start=START, status=status)
    db.session.commit()
    assert send_due_reminders(START - timedelta(hours=2)) == {"reminded": 0}


def test_a_moved_booking_gets_a_reminder_for_its_new_time(world):
    instrument, manager, user = world
    booking = make_booking(instrument, user, start=START, status=BookingStatus.APPROVED)
    db.session.commit()
    send_due_reminders(START - timedelta(hours=2))
    services.reschedule_booking(manager, booking.id, START + timedelta(days=1), START + timedelta(days=1, hours=1),
                                START - timedelta(hours=2))
    assert reload(booking).reminder_sent_at is None
    assert send_due_reminders(START + timedelta(hours=2)) == {"reminded": 1}
    assert len(mails("booking.reminder")) == 2


def test_a_muted_reminder_is_marked_done_without_a_mail(world):
    instrument, manager, user = world
    booking = make_booking(instrument, user, start=START, status=BookingStatus.APPROVED)
    db.session.add(NotificationMute(user_id=user.id, topic="reminders"))
    db.session.commit()
    assert send_due_reminders(START - timedelta(hours=2)) == {"reminded": 1}
    assert reload(booking).reminder_sent_at is not None and mails("booking.reminder") == []


def test_reminder_hours_are_configurable(world, app, monkeypatch):
    instrument, manager, user = world
    make_booking(instrument, user, start=START, status=BookingStatus.APPROVED)
    db.session.commit()
    monkeypatch.setitem(app.config, "REMINDER_HOURS", 48)
    assert send_due_reminders(START - timedelta(hours=47)) == {"reminded": 1}


# --- expiry -----------------------------------------------------------------------------------


def test_undecided_requests_expire_at_their_start_and_the_requester_is_told(world):
    instrument, manager, user = world
    due = make_booking(instrument, user, start=START, status=BookingStatus.PENDING)
    later = make_booking(instrument, user, start=START + timedelta(days=1), status=BookingStatus.PENDING)
    approved = make_booking(instrument, user, start=START - timedelta(days=1), status=BookingStatus.APPROVED)
    db.session.commit()
    assert jobs.expire_stale_requests(START - timedelta(minutes=1)) == {"expired": 0}
    assert jobs.expire_stale_requests(START) == {"expired": 1}
    assert jobs.expire_stale_requests(START) == {"expired": 0}
    assert (reload(due).status, reload(later).status, reload(approved).status) == ("expired", "pending", "approved")
    [mail] = mails("booking.expire")
    assert mail.to_address == user.email


def test_the_expiry_deadline_before_the_start_is_configurable(world, app, monkeypatch):
    instrument, manager, user = world
    booking = make_booking(instrument, user, start=START, status=BookingStatus.PENDING)
    db.session.commit()
    monkeypatch.setitem(app.config, "EXPIRE_PENDING_HOURS_BEFORE_START", 12)
    assert jobs.expire_stale_requests(START - timedelta(hours=13)) == {"expired": 0}
    assert jobs.expire_stale_requests(START - timedelta(hours=12)) == {"expired": 1}
    assert reload(booking).status == "expired"


# --- past bookings: awaiting usage, then no-show --------------------------------------------------


def test_ended_bookings_await_usage_then_become_no_shows_after_the_grace_period(world, app):
    instrument, manager, user = world
    booking = make_booking(instrument, user, start=START, hours=2, status=BookingStatus.APPROVED, version=2)
    db.session.commit()
    end = START + timedelta(hours=2)
    grace = timedelta(hours=app.config["USAGE_GRACE_HOURS"])
    assert jobs.close_past_bookings(end - timedelta(minutes=1)) == {"awaiting_usage": 0, "no_show": 0}
    assert jobs.close_past_bookings(end) == {"awaiting_usage": 1, "no_show": 0}
    assert jobs.close_past_bookings(end + timedelta(hours=1)) == {"awaiting_usage": 0, "no_show": 0}
    marked = reload(booking)
    assert marked.status == "approved" and marked.awaiting_usage_at == end and marked.version == 2
    assert jobs.close_past_bookings(end + grace) == {"awaiting_usage": 0, "no_show": 1}
    assert jobs.close_past_bookings(end + grace) == {"awaiting_usage": 0, "no_show": 0}
    done = reload(booking)
    assert done.status == "no_show" and done.usage_recorded_by_id is None
    actions = [e.action for e in db.session.scalars(select(BookingEvent).where(BookingEvent.booking_id == booking.id)
                                                     .order_by(BookingEvent.id))]
    assert actions == ["awaiting_usage", "no_show"]


def test_recorded_usage_is_never_overridden(world, app):
    instrument, manager, user = world
    booking = make_booking(instrument, user, start=START, status=BookingStatus.APPROVED)
    db.session.commit()
    services.record_usage(manager, booking.id, START, START + timedelta(hours=1), 1, START + timedelta(hours=2))
    assert jobs.close_past_bookings(START + timedelta(days=30)) == {"awaiting_usage": 0, "no_show": 0}
    assert reload(booking).status == "completed"


def test_a_long_gap_goes_straight_to_no_show(world, app):
    instrument, manager, user = world
    booking = make_booking(instrument, user, start=START, status=BookingStatus.APPROVED)
    db.session.commit()
    assert jobs.close_past_bookings(START + timedelta(days=30)) == {"awaiting_usage": 0, "no_show": 1}
    assert reload(booking).status == "no_show"


# --- slots, runs, the job table ------------------------------------------------------------------


def test_interval_slots_are_epoch_aligned_and_cron_slots_are_the_last_fire_time(app):
    tick = jobs.Job("t", "x:y", every=60)
    at = datetime(2026, 12, 7, 2, 0, 59, tzinfo=UTC)
    assert jobs.current_slot(tick, at) == datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    assert jobs.current_slot(tick, at + timedelta(seconds=1)) == datetime(2026, 12, 7, 2, 1, tzinfo=UTC)
    monthly = jobs.Job("m", "x:y", cron="0 2 1 * *")  # 02:00 Shanghai on the 1st = 18:00 UTC the day before
    assert jobs.current_slot(monthly, at) == datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    assert jobs.current_slot(monthly, datetime(2026, 11, 30, 17, 59, tzinfo=UTC)) == datetime(2026, 10, 31, 18, 0,
                                                                                              tzinfo=UTC)
    assert jobs.next_run(monthly, at, True) == datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
    assert jobs.next_run(monthly, at, False) == at


def test_a_slot_runs_once_and_a_failure_is_recorded_and_retried_next_slot(app, monkeypatch):
    calls = []

    def flaky(now):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return {"done": 1}

    monkeypatch.setattr(jobs, "_test_job", flaky, raising=False)
    job = jobs.Job("flaky", "equipshare.jobs:_test_job", every=60)
    slot = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    failed = jobs.run_slot(job, slot, slot, "test")
    assert failed.status == "failed" and "RuntimeError: database hiccup" in failed.error
    assert jobs.run_slot(job, slot, slot, "another scheduler") is None  # the slot is taken
    ok = jobs.run_slot(job, slot + timedelta(minutes=1), slot + timedelta(minutes=1), "test")
    assert ok.status == "succeeded" and ok.result == "done: 1" and ok.finished_at is not None
    assert len(calls) == 2


def test_run_job_command_runs_one_job_with_a_given_now(app, world):
    instrument, manager, user = world
    make_booking(instrument, user, start=START, status=BookingStatus.APPROVED)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["run-job", "send-reminders", "--now", "2026-12-07T08:00"])  # Shanghai time
    assert result.exit_code == 0, result.output
    assert "send-reminders: succeeded — reminded: 1" in result.output
    run = db.session.scalar(select(JobRun).where(JobRun.job_name == "send-reminders"))
    assert run.slot == datetime(2026, 12, 7, 0, 0, tzinfo=UTC) and run.runner.startswith("run-job ")
    listing = runner.invoke(args=["run-job"])
    assert all(job.name in listing.output for job in jobs.JOBS)
    assert runner.invoke(args=["run-job", "no-such-job"]).exit_code != 0
    assert runner.invoke(args=["run-job", "send-reminders", "--now", "yesterday"]).exit_code != 0


def test_every_job_in_the_table_runs(app):
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    for job in jobs.JOBS:
        run = jobs.run_job_now(job.name, now + timedelta(microseconds=len(job.name)))
        assert run.status == "succeeded", (job.name, run.error)


def test_prune_history_forgets_idle_and_old_runs_but_keeps_the_latest(app):
    base = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    job = jobs.Job("deliver-outbox", "equipshare.notifications.sender:deliver_due", every=5)
    for i in range(5):
        jobs.run_slot(job, base + timedelta(seconds=5 * i), base, "test")
    db.session.execute(db.update(JobRun).values(started_at=base))
    db.session.commit()
    result = jobs.prune_history(base + timedelta(hours=2))
    assert result["job_runs"] == 4
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1


def test_file_leader_lock_lets_one_holder_at_a_time(tmp_path):
    first, second = jobs.FileLeaderLock(str(tmp_path / "s.lock")), jobs.FileLeaderLock(str(tmp_path / "s.lock"))
    assert first.try_acquire() and first.still_held()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_postgres_leader_lock_lets_one_holder_at_a_time(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL advisory locks (TEST_DATABASE_URL)")
    first = jobs.PostgresLeaderLock(db.engine.url, 4242)
    second = jobs.PostgresLeaderLock(db.engine.url, 4242)
    try:
        assert first.try_acquire() and first.still_held()
        assert not second.try_acquire()
        first.release()  # as if the leader's process died: its session ends
        assert second.try_acquire()
    finally:
        first.release()
        second.release()
