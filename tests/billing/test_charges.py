"""Charges from booking outcomes, their idempotency, adjustments and corrections."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from equipshare.billing import charges as service
from equipshare.billing.models import Charge, ChargeEvent, ChargeStatus
from equipshare.billing.statements import issue_statement
from equipshare.booking import services as booking_services
from equipshare.booking.models import Booking, BookingStatus
from equipshare.catalogue.models import RateCard
from equipshare.errors import Conflict, Forbidden, RuleViolation
from equipshare.extensions import db
from tests.billing.helpers import APRIL_1, completed_booking, local, setup_firm
from tests.factories import make_booking, make_manager


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _approved(s, start, minutes=120, **kw) -> Booking:
    return make_booking(s.instrument, s.client, start=start, hours=minutes / 60, status=BookingStatus.APPROVED,
                        quoted_fee_fen=kw.pop("quoted_fee_fen", 80000), **kw)


def test_record_usage_creates_the_charge_in_the_same_transaction():
    s = setup_firm(rates={"enterprise": 40000})
    card = s.instrument.rate_for("enterprise")
    card.per_sample_fen, card.setup_fee_fen = 1500, 5000
    s.instrument.billing_mode, s.instrument.billing_increment_minutes = "max_booked_actual", 15
    booking = _approved(s, local(2026, 3, 10, 9), minutes=60, sample_count=2)
    db.session.commit()
    start = booking.start_at
    booking_services.record_usage(s.manager, booking.id, start, start + timedelta(minutes=71), 3,
                                  now=start + timedelta(hours=3))
    charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
    # larger of 60 booked / 71 used → 71 → rounded up to 75 min
    assert (charge.kind, charge.booked_minutes, charge.actual_minutes, charge.billable_minutes) == ("usage", 60, 71, 75)
    assert (charge.hourly_rate_fen, charge.per_sample_fen, charge.setup_fee_fen) == (40000, 1500, 5000)
    assert charge.samples == 3 and charge.time_fen == 50000 and charge.sample_fen == 4500
    assert charge.amount_fen == charge.computed_fen == 50000 + 4500 + 5000
    assert charge.customer_class == "enterprise" and charge.status == ChargeStatus.OPEN
    assert [e.action for e in charge.events] == ["created"] and charge.events[0].actor_id == s.manager.id
    # the snapshot does not follow later rate changes
    card.hourly_rate_fen = 1
    db.session.commit()
    db.session.refresh(charge)
    assert charge.hourly_rate_fen == 40000


def test_actual_mode_and_minimum_charge():
    s = setup_firm(rates={"enterprise": 6000})
    s.instrument.rate_for("enterprise").minimum_charge_fen = 5000
    booking = completed_booking(s.instrument, s.client, local(2026, 3, 2), minutes=120, actual_minutes=10)
    charge = service.charge_booking(booking, None, APRIL_1)
    assert charge.billable_minutes == 10 and charge.time_fen == 1000 and charge.amount_fen == 5000


def test_late_cancellation_is_charged_by_policy():
    s = setup_firm()
    s.instrument.late_cancel_fee_percent, s.instrument.late_cancel_hours = 25, 48
    booking = _approved(s, local(2026, 3, 10, 9), quoted_fee_fen=80001)
    db.session.commit()
    booking_services.cancel_booking(s.client, booking.id, "plans changed", now=local(2026, 3, 9, 9))
    charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
    assert (charge.kind, charge.fee_percent, charge.quote_fen, charge.amount_fen) == ("late_cancel", 25, 80001, 20000)
    assert charge.service_at == local(2026, 3, 9, 9)


def test_early_cancellation_costs_nothing_and_zero_fees_are_not_billed():
    s = setup_firm()
    early = _approved(s, local(2026, 3, 20, 9))
    late = _approved(s, local(2026, 3, 10, 9))  # policy 0 % (the default)
    db.session.commit()
    booking_services.cancel_booking(s.client, early.id, None, now=local(2026, 3, 1))
    booking_services.cancel_booking(s.client, late.id, None, now=local(2026, 3, 10, 8))
    charges = db.session.scalars(select(Charge)).all()
    assert [(c.booking_id, c.kind, c.amount_fen) for c in charges] == [(late.id, "late_cancel", 0)]
    assert issue_statement(None, s.org.id, 2026, 3, APRIL_1) is None  # nothing to bill


def test_no_show_is_charged_by_policy():
    s = setup_firm()
    s.instrument.no_show_fee_percent = 50
    booking = _approved(s, local(2026, 3, 10, 9), quoted_fee_fen=80000)
    db.session.commit()
    booking_services.mark_no_show(s.manager, booking.id, now=local(2026, 3, 10, 12))
    charge = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id))
    assert (charge.kind, charge.amount_fen, charge.service_at) == ("no_show", 40000, booking.start_at)


def test_charge_creation_is_idempotent_and_guarded_by_the_database():
    s = setup_firm()
    booking = completed_booking(s.instrument, s.client, local(2026, 3, 2))
    first = service.charge_booking(booking, None, APRIL_1)
    assert service.charge_booking(booking, None, APRIL_1) is first
    db.session.commit()
    duplicate = service.build_charge(booking, "usage", APRIL_1)
    db.session.add(duplicate)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert _count(Charge) == 1


def test_safety_net_creates_missing_charges_once():
    s = setup_firm()
    completed_booking(s.instrument, s.client, local(2026, 3, 2))
    make_booking(s.instrument, s.client, start=local(2026, 3, 3), status=BookingStatus.NO_SHOW)
    make_booking(s.instrument, s.client, start=local(2026, 3, 4), status=BookingStatus.CANCELLED,
                 late_cancellation=True)
    make_booking(s.instrument, s.client, start=local(2026, 3, 5), status=BookingStatus.CANCELLED)
    make_booking(s.instrument, s.client, start=local(2026, 3, 6), status=BookingStatus.REJECTED)
    db.session.commit()
    assert service.create_missing_charges(APRIL_1) == 3
    assert service.create_missing_charges(APRIL_1) == 0
    assert sorted(db.session.scalars(select(Charge.kind))) == ["late_cancel", "no_show", "usage"]


def test_absurd_rate_refuses_usage_and_writes_nothing():
    s = setup_firm(rates={"enterprise": 40000})
    booking = _approved(s, local(2026, 3, 10, 9))
    db.session.commit()
    # bypass the catalogue's checks, as a bad import or a direct SQL edit would
    db.session.execute(RateCard.__table__.update().values(hourly_rate_fen=2_000_000_000))
    db.session.commit()
    with pytest.raises(RuleViolation) as info:
        booking_services.record_usage(s.manager, booking.id, booking.start_at, booking.end_at, 0,
                                      now=local(2026, 3, 10, 12))
    assert info.value.code == "invalid_rate"
    db.session.rollback()
    assert db.session.get(Booking, booking.id).status == BookingStatus.APPROVED
    assert _count(Charge) == 0


def test_manager_adjusts_an_open_charge_with_a_reason():
    s = setup_firm()
    charge = service.charge_booking(completed_booking(s.instrument, s.client, local(2026, 3, 2)), None, APRIL_1)
    db.session.commit()
    with pytest.raises(RuleViolation) as info:
        service.adjust_charge(s.manager, charge.id, 100, "  ", APRIL_1)
    assert info.value.field == "reason"
    db.session.rollback()
    with pytest.raises(RuleViolation):
        service.adjust_charge(s.manager, charge.id, -1, "discount", APRIL_1)
    db.session.rollback()
    with pytest.raises(Forbidden):
        service.adjust_charge(make_manager(), charge.id, 100, "not mine", APRIL_1)
    db.session.rollback()
    service.adjust_charge(s.manager, charge.id, 30000, "Instrument fault: half price", APRIL_1)
    events = db.session.scalars(select(ChargeEvent).where(ChargeEvent.charge_id == charge.id)
                                .order_by(ChargeEvent.id)).all()
    assert [(e.action, e.from_amount_fen, e.to_amount_fen, e.note, e.actor_id) for e in events][1:] == [
        ("adjusted", 40000, 30000, "Instrument fault: half price", s.manager.id)]


def test_billed_charge_cannot_be_adjusted_only_corrected():
    s = setup_firm()
    charge = service.charge_booking(completed_booking(s.instrument, s.client, local(2026, 3, 2)), None, APRIL_1)
    db.session.commit()
    statement = issue_statement(None, s.org.id, 2026, 3, APRIL_1)
    events_before = _count(ChargeEvent)
    with pytest.raises(Conflict) as info:
        service.adjust_charge(s.manager, charge.id, 1, "too late", APRIL_1)
    assert info.value.code == "charge_billed" and statement.number in str(info.value.message)
    db.session.rollback()
    assert db.session.get(Charge, charge.id).amount_fen == 40000 and _count(ChargeEvent) == events_before

    with pytest.raises(RuleViolation) as info:
        service.add_correction(s.manager, charge.id, -40001, "refund", APRIL_1)
    assert info.value.code == "refund_too_large"
    db.session.rollback()
    correction = service.add_correction(s.manager, charge.id, -10000, "Overbilled by an hour", APRIL_1)
    assert (correction.kind, correction.corrects_charge_id, correction.amount_fen) == ("adjustment", charge.id, -10000)
    # the open correction may itself be adjusted, but never below the charge's total
    with pytest.raises(RuleViolation):
        service.adjust_charge(s.manager, correction.id, -40001, "more", APRIL_1)
    db.session.rollback()
    service.adjust_charge(s.manager, correction.id, -40000, "full refund", APRIL_1)
    may = issue_statement(None, s.org.id, 2026, 4, local(2026, 5, 1, 0, 5))
    assert [(line.kind, line.amount_fen) for line in may.lines] == [("adjustment", -40000)]
    assert may.due_fen == -40000


def test_correcting_an_open_charge_is_refused():
    s = setup_firm()
    charge = service.charge_booking(completed_booking(s.instrument, s.client, local(2026, 3, 2)), None, APRIL_1)
    db.session.commit()
    with pytest.raises(Conflict):
        service.add_correction(s.manager, charge.id, 100, "x", APRIL_1)


def test_billing_policy_is_validated():
    s = setup_firm()
    db.session.commit()
    good = service.BillingPolicy("max_booked_actual", 30, 10, 100)
    service.update_billing_policy(s.manager, s.instrument.id, good, APRIL_1)
    assert s.instrument.billing_increment_minutes == 30
    for bad, field in [(service.BillingPolicy("hourly", 30, 0, 0), "billing_mode"),
                       (service.BillingPolicy("actual", 0, 0, 0), "billing_increment_minutes"),
                       (service.BillingPolicy("actual", 15, 101, 0), "late_cancel_fee_percent"),
                       (service.BillingPolicy("actual", 15, 0, -1), "no_show_fee_percent")]:
        with pytest.raises(RuleViolation) as info:
            service.update_billing_policy(s.manager, s.instrument.id, bad, APRIL_1)
        assert info.value.field == field
        db.session.rollback()
    with pytest.raises(Forbidden):
        service.update_billing_policy(make_manager(), s.instrument.id, good, APRIL_1)
