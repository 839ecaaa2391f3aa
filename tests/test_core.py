"""The factory, configuration, schema and the database-level guarantees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    name = instrument.name_zh
    begin_write(db.session)
    if db.engine.dialect.name == "sqlite":
        # A second connection cannot start writing while we hold the lock.
        with db.engine.connect().execution_options(sqlite_immediate=False) as other:
            other.exec_driver_sql("PRAGMA busy_timeout=0")
            with pytest.raises(Exception, match="locked"):
                other.exec_driver_sql("BEGIN IMMEDIATE")
    assert instrument.name_zh == name
    db.session.execute(text("SELECT 1"))
    db.session.commit()
