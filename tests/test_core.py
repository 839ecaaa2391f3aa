"""The factory, configuration, schema and the database-level guarantees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import check as migrate_check
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from config import ProductionConfig
from equipshare import create_app
from equipshare.booking.models import Booking, BookingStatus
from equipshare.db import begin_write
from equipshare.extensions import db
from tests.factories import make_booking, make_client_user, make_downtime, make_instrument, make_manager


def test_factory_honours_test_config(app):
    assert app.testing
    assert app.config["SECRET_KEY"] == "test-secret"
    other = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", CATALOGUE_PAGE_SIZE=3)
    assert other.config["CATALOGUE_PAGE_SIZE"] == 3


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY, DATABASE_URL"):
        create_app(ProductionConfig)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app(ProductionConfig)


def test_migrations_match_models(app):
    """`flask db check`: the migrations build exactly the schema the models describe."""
    try:
        migrate_check()
    except SystemExit as exc:  # flask_migrate exits 1 when it detects drift
        pytest.fail(f"models and migrations differ (flask db check exited {exc.code})")


def test_utc_datetime_round_trip_and_naive_refused():
    instrument = make_instrument()
    user = make_client_user()
    shanghai = datetime(2026, 12, 1, 9, 30, tzinfo=UTC) + timedelta(0)
    booking = make_booking(instrument, user, start=shanghai)
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(Booking, booking.id)
    assert loaded.start_at == shanghai and loaded.start_at.tzinfo is not None
    with pytest.raises(Exception, match="naive"):
        make_booking(instrument, user, start=datetime(2026, 12, 2, 9, 0))
    db.session.rollback()


def _start(day: int = 1, hour: int = 2) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [BookingStatus.PENDING, BookingStatus.APPROVED])
def test_database_refuses_overlapping_slot_holding_bookings(status):
    instrument = make_instrument()
    user = make_client_user()
    make_booking(instrument, user, start=_start(), hours=2, status=BookingStatus.APPROVED)
    db.session.commit()
    with pytest.raises(IntegrityError, match="slot_overlap|ex_bookings_no_overlap"):
        make_booking(instrument, user, start=_start(hour=3), hours=1, status=status)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(Booking)) == 1


def test_back_to_back_and_non_holding_bookings_are_allowed():
    instrument = make_instrument()
    user = make_client_user()
    make_booking(instrument, user, start=_start(hour=2), hours=1, status=BookingStatus.APPROVED)
    make_booking(instrument, user, start=_start(hour=3), hours=1, status=BookingStatus.PENDING)
    make_booking(instrument, user, start=_start(hour=2), hours=2, status=BookingStatus.CANCELLED)
    make_booking(instrument, user, start=_start(hour=2), hours=2, status=BookingStatus.REJECTED)
    # the same time on another instrument
    make_booking(make_instrument(), user, start=_start(hour=2), hours=2, status=BookingStatus.APPROVED)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(Booking)) == 5


def test_database_refuses_bookings_longer_than_seven_days():
    """The availability and clash queries read only bookings starting < 7 days before their
    window; the database guarantees no booking is longer, in every status."""
    instrument = make_instrument()
    user = make_client_user()
    make_booking(instrument, user, start=_start(day=1), hours=7 * 24, status=BookingStatus.COMPLETED)
    db.session.commit()
    for status in (BookingStatus.PENDING, BookingStatus.CANCELLED):
        with pytest.raises(IntegrityError, match="booking_too_long|at_most_7_days"):
            make_booking(instrument, user, start=_start(day=10), hours=7 * 24 + 0.5, status=status)
        db.session.rollback()
    booking = make_booking(instrument, user, start=_start(day=10), hours=2, status=BookingStatus.PENDING)
    db.session.commit()
    booking.end_at = booking.start_at + timedelta(days=8)
    with pytest.raises(IntegrityError, match="booking_too_long|at_most_7_days"):
        db.session.flush()
    db.session.rollback()


def test_overlap_guards_see_a_week_long_booking_that_started_days_before():
    """The guards read only bookings starting within 7 days before the new interval: a booking
    of exactly 7 days is still found from its last hour."""
    instrument = make_instrument()
    manager = make_manager(instrument.lab)
    user = make_client_user()
    make_booking(instrument, user, start=_start(day=1, hour=0), hours=7 * 24, status=BookingStatus.APPROVED)
    db.session.commit()
    with pytest.raises(IntegrityError, match="slot_overlap|ex_bookings_no_overlap"):
        make_booking(instrument, user, start=_start(day=7, hour=23), hours=2)
    db.session.rollback()
    with pytest.raises(IntegrityError, match="slot_overlap"):
        make_downtime(instrument, _start(day=7, hour=23), 2, manager)
    db.session.rollback()
    make_booking(instrument, user, start=_start(day=8, hour=0), hours=1)  # back to back
    make_downtime(instrument, _start(day=8, hour=1), 2, manager)
    db.session.commit()


def test_reviving_a_cancelled_booking_into_a_taken_slot_is_refused():
    instrument = make_instrument()
    user = make_client_user()
    make_booking(instrument, user, start=_start(), hours=1, status=BookingStatus.APPROVED)
    old = make_booking(instrument, user, start=_start(), hours=1, status=BookingStatus.CANCELLED)
    db.session.commit()
    old.status = BookingStatus.PENDING
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_downtime_and_bookings_exclude_each_other():
    instrument = make_instrument()
    manager = make_manager(instrument.lab)
    user = make_client_user()
    make_booking(instrument, user, start=_start(hour=2), hours=2, status=BookingStatus.PENDING)
    db.session.commit()
    with pytest.raises(IntegrityError, match="slot_overlap"):
        make_downtime(instrument, _start(hour=3), 4, manager)
    db.session.rollback()
    make_downtime(instrument, _start(hour=4), 4, manager)  # back to back with the booking
    db.session.commit()
    with pytest.raises(IntegrityError, match="slot_overlap"):
        make_booking(instrument, user, start=_start(hour=5), hours=1)
    db.session.rollback()
    # A cancelled booking may lie under downtime.
    make_booking(instrument, user, start=_start(hour=5), hours=1, status=BookingStatus.CANCELLED)
    db.session.commit()


def test_begin_write_takes_the_sqlite_write_lock_and_reloads_state():
    instrument = make_instrument()
    db.session.commit()
    assert instrument.name_zh  # loaded in this session's (read) transaction
    with db.engine.begin() as other:  # someone else renames it meanwhile
        other.execute(text("UPDATE instruments SET name_zh = '改名仪器' WHERE id = :id"), {"id": instrument.id})
    begin_write(db.session)
    if db.engine.dialect.name == "sqlite":
        # A second connection cannot start writing while we hold the lock.
        with db.engine.connect().execution_options(sqlite_immediate=False) as other:
            other.exec_driver_sql("PRAGMA busy_timeout=0")
            with pytest.raises(Exception, match="locked"):
                other.exec_driver_sql("BEGIN IMMEDIATE")
    assert instrument.name_zh == "改名仪器"  # checks after begin_write see the latest committed state
    db.session.execute(text("SELECT 1"))
    db.session.commit()


def test_read_statement_leaves_the_pooled_connection_as_it_found_it(app):
    """ReadStatement reads in autocommit outside the session; the connection goes back to the
    pool in its usual (transactional) mode, and the session's own work is unaffected."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.pool import QueuePool

    from equipshare.catalogue.models import Instrument
    from equipshare.db import ReadStatement

    instrument = make_instrument()
    db.session.commit()
    statement = ReadStatement(select(Instrument.id, Instrument.name_en).where(Instrument.id == instrument.id))
    engine = create_engine(db.engine.url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    try:
        assert [tuple(row) for row in statement.rows(engine, {})] == [(instrument.id, instrument.name_en)]
        with engine.connect() as conn:  # the same (only) pooled connection
            driver = conn.connection.driver_connection
            if engine.dialect.name == "postgresql":
                import psycopg

                assert driver.autocommit is False
                assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                conn.execute(text("SELECT 1"))
                assert driver.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS  # as before
            else:
                assert driver.in_transaction is False
                conn.execute(text("SELECT 1"))
            conn.rollback()
    finally:
        engine.dispose()


def test_read_statement_drops_a_connection_the_server_closed(app):
    """A pooled connection whose server process died is not handed out again."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.exc import OperationalError as SAOperationalError
    from sqlalchemy.pool import QueuePool

    from equipshare.catalogue.models import Instrument
    from equipshare.db import ReadStatement

    if db.engine.dialect.name != "postgresql":
        pytest.skip("terminating a server process is a PostgreSQL test")
    import psycopg

    instrument = make_instrument()
    db.session.commit()
    statement = ReadStatement(select(Instrument.id).where(Instrument.id == instrument.id))
    engine = create_engine(db.engine.url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    try:
        assert [tuple(row) for row in statement.rows(engine, {})] == [(instrument.id,)]
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            conn.rollback()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
        with pytest.raises((psycopg.OperationalError, SAOperationalError)):
            statement.rows(engine, {})
        assert [tuple(row) for row in statement.rows(engine, {})] == [(instrument.id,)]  # a fresh connection
    finally:
        engine.dispose()


def test_session_serializer_is_built_once_per_secret(app):
    from flask import session

    first = create_app("testing", SECRET_KEY="first secret key for this test only")

    @first.route("/_set")
    def _set():
        session["x"] = 1
        return "ok"

    @first.route("/_get")
    def _get():
        return str(session.get("x"))

    interface = first.session_interface
    assert interface.get_signing_serializer(first) is interface.get_signing_serializer(first)
    browser = first.test_client()
    browser.get("/_set")
    assert browser.get("/_get").get_data(as_text=True) == "1"
    first.secret_key = "a rotated secret key for this test"
    assert browser.get("/_get").get_data(as_text=True) == "None"  # old cookie no longer valid
    first.config["SECRET_KEY_FALLBACKS"] = ["first secret key for this test only"]
    assert browser.get("/_get").get_data(as_text=True) == "1"  # accepted through the fallback


def test_a_request_that_only_read_commits_and_one_that_wrote_is_rolled_back(app):
    """Read-only transactions end with COMMIT at teardown (psycopg forgets its prepared statements
    on ROLLBACK); anything flushed but not committed by a service is still rolled back."""
    from sqlalchemy import event, func, select

    from equipshare.catalogue.models import Institution

    probe = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])

    @probe.route("/_read")
    def _read():
        return str(db.session.scalar(select(func.count()).select_from(Institution)))

    @probe.route("/_half_write")
    def _half_write():
        db.session.add(Institution(name_zh="半写", name_en="Half written", kind="university"))
        db.session.flush()
        return "flushed, never committed"

    with probe.app_context():
        engine = db.engine
        before = db.session.scalar(select(func.count()).select_from(Institution))
        db.session.remove()
    seen: list[str] = []
    event.listen(engine, "commit", lambda conn: seen.append("commit"))
    event.listen(engine, "rollback", lambda conn: seen.append("rollback"))
    try:
        browser = probe.test_client()  # each request in its own app context, torn down at its end
        assert browser.get("/_read").status_code == 200
        assert seen == ["commit"]
        seen.clear()
        assert browser.get("/_half_write").status_code == 200
        assert seen == ["rollback"]
        with probe.app_context():
            assert db.session.scalar(select(func.count()).select_from(Institution)) == before
            db.session.remove()
    finally:
        engine.dispose()


@pytest.mark.parametrize("idle_seconds", [0, 3600])
def test_an_idle_connection_the_server_dropped_is_replaced_before_use(app, idle_seconds):
    """DB_PING_IDLE_SECONDS: a pooled connection idle for that long is pinged at checkout and
    replaced when its server process is gone; within the window it is used unchecked."""
    from sqlalchemy.exc import OperationalError as SAOperationalError

    if db.engine.dialect.name != "postgresql":
        pytest.skip("terminating a server process is a PostgreSQL test")
    probe = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       DB_PING_IDLE_SECONDS=idle_seconds,
                       SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    try:
        with probe.app_context():
            pid = db.session.scalar(text("SELECT pg_backend_pid()"))
            db.session.remove()  # back to the pool
            with app.app_context():
                db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                db.session.commit()
            if idle_seconds == 0:
                assert db.session.scalar(text("SELECT pg_backend_pid()")) != pid
            else:
                with pytest.raises(SAOperationalError):
                    db.session.scalar(text("SELECT 1"))
            db.session.remove()
    finally:
        with probe.app_context():
            db.engine.dispose()


def test_security_headers_on_pages_errors_static_files_and_json(client):
    css = next((Path(__file__).parent.parent / "equipshare" / "static" / "css").glob("*.css")).name
    for path, status, headers in (("/", 200, {}), ("/no/such/page", 404, {}), (f"/static/css/{css}", 200, {}),
                                  ("/instruments/999999/availability", 404, {"Accept": "application/json"})):
        response = client.get(path, headers=headers)
        assert response.status_code == status, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert len(response.headers.getlist("Referrer-Policy")) == 1
