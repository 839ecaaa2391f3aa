"""Scheduled jobs: the job table, exactly-once slots, the leader lock and the scheduler process.

Every job is a state-driven, idempotent service call taking ``now`` ("remind approved bookings
starting within 24 h whose reminder has not been sent"), so a run missed while nothing was
running catches up at the next one, and a repeated run changes nothing.

Exactly once, in three layers:
1. One process runs the scheduler (``flask --app wsgi scheduler``); web workers never do.
2. A second scheduler started by mistake stands by: the leader holds a lock for its lifetime, a
   PostgreSQL session advisory lock on a dedicated connection (any host sharing the database)
   or, on SQLite, ``fcntl.flock`` on a lock file next to the database. If the leader dies, the
   lock is released and a standby takes over at its next tick.
3. Each run of a job is recorded for its slot in ``job_runs`` under UNIQUE(job_name, slot),
   inserted and committed before the job runs: even two active schedulers (say, configured with
   different locks) cannot run one slot twice.

A slot is the period a run belongs to: ``every`` N seconds → the start of the current N-second
window (epoch-aligned); ``cron`` → the latest fire time not after now (Asia/Shanghai), so a
monthly job missed while the app was down runs as soon as it is back.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import import_module

from apscheduler.triggers.cron import CronTrigger
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import create_engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from equipshare.db import begin_write, utcnow
from equipshare.extensions import db
from equipshare.notifications.models import JobRun, JobRunStatus
from equipshare.timeutil import LOCAL_TZ

log = logging.getLogger("equipshare.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    target: str  # "module:function"; called as function(now) inside an app context
    every: int | str | None = None  # seconds, or the name of the config setting that holds them
    cron: str | None = None  # crontab "minute hour day month weekday", Asia/Shanghai time
    description: object = ""

    def function(self):
        module, _, attr = self.target.partition(":")
        return getattr(import_module(module), attr)

    def interval(self) -> int | None:
        if self.every is None:
            return None
        seconds = current_app.config[self.every] if isinstance(self.every, str) else self.every
        return max(int(seconds), 1)

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=LOCAL_TZ)

    @property
    def schedule(self) -> str:
        return f"cron {self.cron} (Asia/Shanghai)" if self.cron else f"every {self.interval()} s"


# The job table. A feature adds its job with one line here.
JOBS: tuple[Job, ...] = (
    Job("deliver-outbox", "equipshare.notifications.sender:deliver_due", every="SCHEDULER_TICK_SECONDS",
        description=_l("Send queued e-mails; retry failed ones with back-off.")),
    Job("expire-requests", "equipshare.jobs:expire_stale_requests", every="JOB_INTERVAL_SECONDS",
        description=_l("Expire requests nobody decided before their start.")),
    Job("send-reminders", "equipshare.notifications.reminders:send_due_reminders", every="JOB_INTERVAL_SECONDS",
        description=_l("Remind clients of approved bookings that start soon.")),
    Job("close-past-bookings", "equipshare.jobs:close_past_bookings", every="JOB_INTERVAL_SECONDS",
        description=_l("Mark ended bookings as awaiting usage entry; after the grace period, as no-show.")),
    Job("monthly-statements", "equipshare.billing.statements:run_monthly_statements", cron="5 0 1 * *",
        description=_l("Issue last month's statements (after creating any missing charges).")),
    Job("prune-history", "equipshare.jobs:prune_history", cron="17 * * * *",
        description=_l("Forget old job runs and delivered e-mails.")),
)


def get_job(name: str) -> Job | None:
    return next((job for job in JOBS if job.name == name), None)


# --- the booking jobs ----------------------------------------------------------------------------


def expire_stale_requests(now: datetime) -> dict[str, int]:
    from equipshare.booking import services
    from equipshare.booking.models import Booking, BookingStatus

    before = timedelta(hours=current_app.config["EXPIRE_PENDING_HOURS_BEFORE_START"])
    ids = db.session.scalars(select(Booking.id).where(
        Booking.status == BookingStatus.PENDING, Booking.start_at <= now + before).order_by(Booking.start_at)).all()
    db.session.commit()
    return {"expired": sum(services.expire_booking(i, now, before) is not None for i in ids)}


def close_past_bookings(now: datetime) -> dict[str, int]:
    from equipshare.booking import services
    from equipshare.booking.models import Booking, BookingStatus

    grace = timedelta(hours=current_app.config["USAGE_GRACE_HOURS"])
    past = select(Booking.id).where(Booking.status == BookingStatus.APPROVED, Booking.start_at < now)
    no_show = db.session.scalars(past.where(Booking.end_at <= now - grace)).all()
    awaiting = db.session.scalars(past.where(
        Booking.end_at <= now, Booking.end_at > now - grace, Booking.awaiting_usage_at.is_(None))).all()
    db.session.commit()
    return {
        "awaiting_usage": sum(services.mark_awaiting_usage(i, now) is not None for i in awaiting),
        "no_show": sum(services.mark_unrecorded_no_show(i, now, grace) is not None for i in no_show),
    }


def prune_history(now: datetime) -> dict[str, int]:
    from equipshare.notifications.sender import prune_outbox

    begin_write(db.session)
    latest = select(func.max(JobRun.id)).group_by(JobRun.job_name)
    old = db.session.execute(delete(JobRun).where(
        JobRun.started_at < now - timedelta(days=current_app.config["JOB_HISTORY_DAYS"]), JobRun.id.not_in(latest)))
    # Runs that did nothing (most deliver-outbox ticks) only matter while their slot is current.
    idle = db.session.execute(delete(JobRun).where(
        JobRun.status == JobRunStatus.SUCCEEDED, JobRun.result.is_(None),
        JobRun.started_at < now - timedelta(hours=1), JobRun.id.not_in(latest)))
    db.session.commit()
    return {"job_runs": old.rowcount + idle.rowcount, "mails": prune_outbox(now)}


# --- slots and runs ------------------------------------------------------------------------------


def _last_cron_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    for lookback in (timedelta(hours=1), timedelta(days=2), timedelta(days=32), timedelta(days=367)):
        fire, last = trigger.get_next_fire_time(None, now - lookback), None
        while fire is not None and fire <= now:
            last, fire = fire, trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if last is not None:
            return last.astimezone(UTC)
    return None


def current_slot(job: Job, now: datetime) -> datetime | None:
    interval = job.interval()
    if interval is not None:
        seconds = int(now.timestamp())
        return datetime.fromtimestamp(seconds - seconds % interval, UTC)
    return _last_cron_fire(job.trigger(), now)


def next_run(job: Job, now: datetime, current_slot_done: bool) -> datetime | None:
    if not current_slot_done:
        return now  # due: the scheduler's next tick runs it
    interval = job.interval()
    if interval is not None:
        return current_slot(job, now) + timedelta(seconds=interval)
    nxt = job.trigger().get_next_fire_time(None, now + timedelta(seconds=1))
    return nxt.astimezone(UTC) if nxt else None


def _summary(result) -> str | None:
    if isinstance(result, dict):
        result = ", ".join(f"{key}: {value}" for key, value in result.items() if value)
    return str(result)[:2000] if result else None


def run_slot(job: Job, slot: datetime, now: datetime, runner: str) -> JobRun | None:
    """Run ``job`` for ``slot`` unless that slot has a run already (here or in another process)."""
    begin_write(db.session)
    run = JobRun(job_name=job.name, slot=slot, status=JobRunStatus.RUNNING, runner=runner[:200], started_at=utcnow())
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    run_id = run.id
    values: dict = {}
    try:
        values["result"] = _summary(job.function()(now))
        values["status"] = JobRunStatus.SUCCEEDED
    except Exception as exc:  # noqa: BLE001 - recorded; the next slot tries again
        db.session.rollback()
        log.exception("Job %s (slot %s) failed", job.name, slot.isoformat())
        values.update(status=JobRunStatus.FAILED,
                      error="".join(traceback.format_exception_only(exc)).strip()[:2000])
    begin_write(db.session)
    db.session.execute(update(JobRun).where(JobRun.id == run_id).values(finished_at=utcnow(), **values))
    db.session.commit()
    return db.session.get(JobRun, run_id)


def run_job_now(name: str, now: datetime | None = None, runner: str | None = None) -> JobRun:
    """Run one job once, outside the schedule (``flask run-job``, cron users, tests). Its slot is
    the exact time, so it never collides with a scheduled slot."""
    job = get_job(name)
    if job is None:
        raise KeyError(name)
    now = now or utcnow()
    runner = runner or f"run-job {socket.gethostname()}:{os.getpid()}"
    run = run_slot(job, now, now, runner)
    if run is None:  # the same microsecond was claimed already: a repeated call, nothing to do
        raise RuntimeError(f"{name} already ran for {now.isoformat()}")
    return run


def job_overview(now: datetime) -> list[dict]:
    """For the admin page: each job with its last run and its next run."""
    rows = []
    for job in JOBS:
        last = db.session.scalar(select(JobRun).where(JobRun.job_name == job.name)
                                 .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1))
        slot = current_slot(job, now)
        done = slot is None or db.session.scalar(select(func.count()).select_from(JobRun).where(
            JobRun.job_name == job.name, JobRun.slot == slot)) > 0
        rows.append({"job": job, "last": last, "next_run": next_run(job, now, done)})
    return rows


# --- the leader lock and the scheduler process ---------------------------------------------------


class FileLeaderLock:
    """SQLite (one host): an exclusive flock held for the process's lifetime; the OS drops it
    when the process dies."""

    def __init__(self, path: str):
        self.path, self._file = path, None

    def try_acquire(self) -> bool:
        import fcntl

        handle = open(self.path, "a+")  # noqa: SIM115 - held open for as long as we lead
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{socket.gethostname()}:{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None


class PostgresLeaderLock:
    """PostgreSQL (any number of hosts): a session-level advisory lock on a dedicated connection,
    outside the application's pool. PostgreSQL releases it when that connection ends."""

    def __init__(self, url, key: int):
        self.key = key
        self.engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._conn = None
        self._held = False

    def try_acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self.engine.connect()
            self._held = bool(self._conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}))
        except Exception:  # noqa: BLE001 - database away: stand by and try again next tick
            log.warning("Cannot reach the database for the scheduler lock", exc_info=True)
            self.release()
        return self._held

    def still_held(self) -> bool:
        try:
            return self._held and self._conn is not None and self._conn.scalar(text("SELECT 1")) == 1
        except Exception:  # noqa: BLE001 - the connection (and with it the lock) is gone
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                if self._held:  # unlock first: closing alone frees it only once the backend exits
                    self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None
        self._held = False


def leader_lock_for(app):
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresLeaderLock(url, app.config["SCHEDULER_LOCK_ID"])
    path = app.config.get("SCHEDULER_LOCK_FILE")
    if not path:
        database = url.database
        path = f"{database}.scheduler.lock" if database and database != ":memory:" else os.path.join(
            app.instance_path, "scheduler.lock")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return FileLeaderLock(path)


class Scheduler:
    """The dedicated scheduler process. APScheduler (3.x, in-memory job store) is only the clock:
    every SCHEDULER_TICK_SECONDS a heartbeat keeps or seeks the leader lock, and each job (in
    its own thread, so a long job never delays the outbox) runs its current slot if it is new."""

    def __init__(self, app, jobs: tuple[Job, ...] | None = None):
        self.app = app
        self.jobs = jobs if jobs is not None else JOBS
        self.runner = f"scheduler {socket.gethostname()}:{os.getpid()}"
        self.lock = None
        self.is_leader = False
        self._standby_said = False
        self._last_slot: dict[str, datetime] = {}

    def heartbeat(self) -> None:
        with self.app.app_context():
            if self.lock is None:
                self.lock = leader_lock_for(self.app)
            if self.is_leader and not self.lock.still_held():
                self.is_leader = False
                log.warning("Lost the scheduler lock; standing by.")
            if not self.is_leader:
                self.is_leader = self.lock.try_acquire()
                if self.is_leader:
                    log.info("This process (%s) now runs the scheduled jobs.", self.runner)
                    self._standby_said = False
                elif not self._standby_said:
                    log.info("Another scheduler holds the lock; standing by.")
                    self._standby_said = True

    def run_if_due(self, job: Job) -> None:
        if not self.is_leader:
            return
        with self.app.app_context():
            try:
                now = utcnow()
                slot = current_slot(job, now)
                if slot is None or self._last_slot.get(job.name) == slot:
                    return
                self._last_slot[job.name] = slot
                run = run_slot(job, slot, now, self.runner)
                if run is not None and run.result:
                    log.info("%s: %s", job.name, run.result)
            except Exception:  # noqa: BLE001 - e.g. the database is away; the next tick retries
                self._last_slot.pop(job.name, None)
                log.exception("Scheduler could not run %s", job.name)
            finally:
                db.session.remove()

    def run_forever(self) -> None:
        import signal

        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        tick = max(int(self.app.config["SCHEDULER_TICK_SECONDS"]), 1)
        scheduler = BlockingScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(len(self.jobs) + 1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.heartbeat()
        scheduler.add_job(self.heartbeat, IntervalTrigger(seconds=tick), id="leader-lock")
        for job in self.jobs:
            scheduler.add_job(self.run_if_due, IntervalTrigger(seconds=tick), args=[job], id=job.name,
                              next_run_time=utcnow())

        def stop(signum, _frame):
            log.info("Scheduler stopping (signal %s).", signum)
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log.info("Scheduler started: tick %ss, jobs: %s", tick, ", ".join(job.name for job in self.jobs))
        try:
            scheduler.start()
        finally:
            if self.lock is not None:
                self.lock.release()
