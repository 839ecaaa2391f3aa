"""Charges: created from a booking's outcome, adjusted by managers while open, corrected by new
adjustment lines once billed. Every change writes a ChargeEvent (who, when, from → to, why).

``charge_booking`` runs inside the booking service's transaction (record_usage, cancel_booking,
mark_no_show call it before their commit); ``create_missing_charges`` is the idempotent safety
net for bookings that reached an outcome some other way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, or_, select

from equipshare.accounts.models import User
from equipshare.billing.models import BillingMode, Charge, ChargeEvent, ChargeKind, ChargeStatus
from equipshare.billing.permissions import can_adjust_charge, can_correct_charge, can_edit_billing_policy
from equipshare.billing.rules import (
    MAX_INCREMENT_MINUTES,
    RateSnapshot,
    billable_minutes,
    minutes_between,
    percent_of,
    usage_fee,
)
from equipshare.booking.models import Booking, BookingStatus
from equipshare.catalogue.models import Instrument
from equipshare.catalogue.pricing import customer_class_for
from equipshare.db import begin_write
from equipshare.errors import Conflict, Forbidden, NotFound, RuleViolation
from equipshare.extensions import db
from equipshare.money import MAX_FEN, format_fen

log = logging.getLogger(__name__)
MAX_REASON = 2000


def charge_kind_for(booking: Booking) -> str | None:
    if booking.status == BookingStatus.COMPLETED:
        return ChargeKind.USAGE
    if booking.status == BookingStatus.NO_SHOW:
        return ChargeKind.NO_SHOW
    if booking.status == BookingStatus.CANCELLED and booking.late_cancellation:
        return ChargeKind.LATE_CANCEL
    return None


def _event(charge: Charge, action: str, actor: User | None, now: datetime, note: str | None,
           from_status: str | None, from_amount: int | None) -> ChargeEvent:
    event = ChargeEvent(charge=charge, actor_id=actor.id if actor else None, at=now, action=action,
                        from_status=from_status, to_status=charge.status, from_amount_fen=from_amount,
                        to_amount_fen=charge.amount_fen, note=note)
    db.session.add(event)
    return event


def build_charge(booking: Booking, kind: str, now: datetime) -> Charge:
    """The charge for ``booking``'s outcome, from the instrument's current rate card and billing
    policy, snapshotted onto the charge. Raises RuleViolation for an invalid rate card."""
    instrument = booking.instrument
    customer_class = customer_class_for(booking.organisation, instrument)
    rate = RateSnapshot.of(instrument.rate_for(customer_class))
    if kind == ChargeKind.USAGE:
        rate.check(instrument.name_zh)
    booked = minutes_between(booking.start_at, booking.end_at)
    charge = Charge(
        booking_id=booking.id, organisation_id=booking.organisation_id, instrument_id=instrument.id,
        kind=kind, status=ChargeStatus.OPEN, customer_class=customer_class,
        hourly_rate_fen=rate.hourly_rate_fen, per_sample_fen=rate.per_sample_fen,
        setup_fee_fen=rate.setup_fee_fen, minimum_charge_fen=rate.minimum_charge_fen,
        billing_mode=instrument.billing_mode, billing_increment_minutes=instrument.billing_increment_minutes,
        booked_minutes=booked, created_at=now,
    )
    if kind == ChargeKind.USAGE:
        actual = minutes_between(booking.actual_start_at, booking.actual_end_at)
        minutes = billable_minutes(instrument.billing_mode, instrument.billing_increment_minutes, booked, actual)
        samples = booking.actual_samples if booking.actual_samples is not None else booking.sample_count
        fee = usage_fee(rate, customer_class, minutes, samples)
        charge.service_at = booking.actual_start_at
        charge.actual_minutes, charge.billable_minutes, charge.samples = actual, minutes, samples
        charge.time_fen, charge.sample_fen, charge.setup_fen = fee.time_fen, fee.sample_fen, fee.setup_fen
        charge.computed_fen = fee.total_fen
    else:
        percent = (instrument.late_cancel_fee_percent if kind == ChargeKind.LATE_CANCEL
                   else instrument.no_show_fee_percent)
        charge.service_at = (booking.cancelled_at or now) if kind == ChargeKind.LATE_CANCEL else booking.start_at
        charge.fee_percent, charge.quote_fen = percent, booking.quoted_fee_fen
        charge.billable_minutes, charge.samples = 0, 0
        charge.time_fen = charge.sample_fen = charge.setup_fen = 0
        charge.computed_fen = percent_of(booking.quoted_fee_fen, percent)
    charge.amount_fen = charge.computed_fen
    return charge


def charge_booking(booking: Booking, actor: User | None, now: datetime) -> Charge | None:
    """Create the charge a booking's outcome calls for, in the caller's transaction (the caller
    holds the booking's lock and commits). Idempotent: an existing charge is returned. Late
    cancellations and no-shows get a charge even at 0 % (it records that the outcome was
    handled; zero charges never appear on a statement, and a manager may still adjust them)."""
    kind = charge_kind_for(booking)
    if kind is None:
        return None
    existing = db.session.scalar(select(Charge).where(Charge.booking_id == booking.id, Charge.kind == kind))
    if existing is not None:
        return existing
    charge = build_charge(booking, kind, now)
    charge.created_by_id = actor.id if actor else None
    db.session.add(charge)
    _event(charge, "created", actor, now, None, None, None)
    db.session.flush()
    return charge


def _missing_charges_query():
    kind = case((Booking.status == BookingStatus.COMPLETED, ChargeKind.USAGE.value),
                (Booking.status == BookingStatus.NO_SHOW, ChargeKind.NO_SHOW.value),
                else_=ChargeKind.LATE_CANCEL.value)
    has_charge = exists().where(Charge.booking_id == Booking.id, Charge.kind == kind)
    return select(Booking.id).where(
        or_(Booking.status.in_((BookingStatus.COMPLETED, BookingStatus.NO_SHOW)),
            and_(Booking.status == BookingStatus.CANCELLED, Booking.late_cancellation.is_(True))),
        ~has_charge,
    ).order_by(Booking.id)


def create_missing_charges(now: datetime) -> int:
    """Safety net (scheduled, and run before the monthly statements): every completed, no-show or
    late-cancelled booking gets its charge. Returns how many were created. A booking whose rate
    card is invalid is skipped and logged, not allowed to block the others."""
    begin_write(db.session)
    created = 0
    for booking_id in db.session.scalars(_missing_charges_query()).all():
        booking = db.session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update()
                                    .execution_options(populate_existing=True))
        kind = charge_kind_for(booking)
        if kind is None or db.session.scalar(
                select(Charge.id).where(Charge.booking_id == booking.id, Charge.kind == kind)) is not None:
            continue  # changed or charged since the query
        try:
            charge_booking(booking, None, now)
        except RuleViolation as error:
            log.warning("No charge for booking %s: %s", booking_id, error.message)
            continue
        created += 1
    db.session.commit()
    return created


# --- manager actions ------------------------------------------------------------------------------


def _lock_charge(charge_id: int) -> Charge:
    charge = db.session.scalar(select(Charge).where(Charge.id == charge_id).with_for_update()
                               .execution_options(populate_existing=True))
    if charge is None:
        raise NotFound(_l("No such charge."), code="charge_not_found")
    return charge


def _reason(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise RuleViolation(_l("Give the reason for the change; it is kept in the charge's history."),
                            code="reason_required", field="reason")
    if len(text) > MAX_REASON or "\x00" in text:
        raise RuleViolation(_l("The reason is too long or contains characters that are not allowed."),
                            code="bad_text", field="reason")
    return text


def _chain_net(root_id: int) -> int:
    """What the client pays in all for a charge and its corrections (billed or not)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Charge.amount_fen), 0)).where(
        or_(Charge.id == root_id, Charge.corrects_charge_id == root_id))))


def _check_amount(amount_fen: int, field: str) -> None:
    if not isinstance(amount_fen, int) or abs(amount_fen) > MAX_FEN:
        raise RuleViolation(_l("Enter a plausible amount."), code="bad_amount", field=field)


def adjust_charge(actor: User, charge_id: int, amount_fen: int, reason: str | None, now: datetime) -> Charge:
    """Change the amount of an open charge. Refused once the charge is on an issued statement:
    then only a correction (``add_correction``) is possible."""
    begin_write(db.session)
    charge = _lock_charge(charge_id)
    actor = db.session.get(User, actor.id)
    if not can_adjust_charge(actor, charge):
        if charge.status == ChargeStatus.BILLED:
            raise Conflict(_l("This charge is on issued statement %(number)s and can no longer be changed. "
                              "Add a correction instead; it will appear on the next statement.",
                              number=charge.statement.number), code="charge_billed")
        raise Forbidden(_l("You do not manage this instrument."), code="not_your_instrument")
    reason = _reason(reason)
    _check_amount(amount_fen, "amount")
    if charge.kind == ChargeKind.ADJUSTMENT:
        others = _chain_net(charge.corrects_charge_id) - charge.amount_fen
        if others + amount_fen < 0:
            raise RuleViolation(_l("A correction cannot refund more than was charged (%(max)s at most).",
                                   max=format_fen(others)), code="refund_too_large", field="amount")
    elif amount_fen < 0:
        raise RuleViolation(_l("The amount cannot be negative."), code="negative_amount", field="amount")
    if amount_fen == charge.amount_fen:
        raise RuleViolation(_l("The amount is unchanged."), code="unchanged", field="amount")
    before = charge.amount_fen
    charge.amount_fen = amount_fen
    _event(charge, "adjusted", actor, now, reason, charge.status, before)
    db.session.commit()
    return charge


def add_correction(actor: User, charge_id: int, delta_fen: int, reason: str | None, now: datetime) -> Charge:
    """A billed charge is never edited: the correction (positive or negative) is a new
    adjustment charge, billed on the next statement. The total for the booking stays ≥ 0."""
    begin_write(db.session)
    charge = _lock_charge(charge_id)
    actor = db.session.get(User, actor.id)
    if not can_correct_charge(actor, charge):
        if charge.status == ChargeStatus.OPEN and can_adjust_charge(actor, charge):
            raise Conflict(_l("This charge is not billed yet: change its amount instead."), code="charge_open")
        raise Forbidden(_l("You do not manage this instrument."), code="not_your_instrument")
    reason = _reason(reason)
    _check_amount(delta_fen, "amount")
    if delta_fen == 0:
        raise RuleViolation(_l("Enter the amount to add (positive) or refund (negative)."),
                            code="unchanged", field="amount")
    root = charge.corrects or charge
    root = db.session.scalar(select(Charge).where(Charge.id == root.id).with_for_update())
    if _chain_net(root.id) + delta_fen < 0:
        raise RuleViolation(_l("A correction cannot refund more than was charged."), code="refund_too_large",
                            field="amount")
    correction = Charge(
        booking_id=root.booking_id, organisation_id=root.organisation_id, instrument_id=root.instrument_id,
        kind=ChargeKind.ADJUSTMENT, status=ChargeStatus.OPEN, corrects_charge_id=root.id,
        service_at=root.service_at, customer_class=root.customer_class,
        hourly_rate_fen=root.hourly_rate_fen, per_sample_fen=root.per_sample_fen,
        setup_fee_fen=root.setup_fee_fen, minimum_charge_fen=root.minimum_charge_fen,
        billing_mode=root.billing_mode, billing_increment_minutes=root.billing_increment_minutes,
        booked_minutes=root.booked_minutes, billable_minutes=0, samples=0,
        time_fen=0, sample_fen=0, setup_fen=0, computed_fen=delta_fen, amount_fen=delta_fen,
        created_at=now, created_by_id=actor.id,
    )
    db.session.add(correction)
    _event(correction, "created", actor, now, reason, None, None)
    db.session.commit()
    return correction


@dataclass(frozen=True)
class BillingPolicy:
    billing_mode: str
    billing_increment_minutes: int
    late_cancel_fee_percent: int
    no_show_fee_percent: int


def update_billing_policy(actor: User, instrument_id: int, policy: BillingPolicy, now: datetime) -> Instrument:
    """How an instrument's bookings are charged. Applies to charges created from now on."""
    begin_write(db.session)
    instrument = db.session.get(Instrument, instrument_id)
    actor = db.session.get(User, actor.id)
    if instrument is None:
        raise NotFound(_l("No such instrument."), code="instrument_not_found")
    if not can_edit_billing_policy(actor, instrument):
        raise Forbidden(_l("You do not manage this instrument."), code="not_your_instrument")
    if policy.billing_mode not in tuple(BillingMode):
        raise RuleViolation(_l("Choose how time is billed."), code="bad_mode", field="billing_mode")
    if not 1 <= policy.billing_increment_minutes <= MAX_INCREMENT_MINUTES:
        raise RuleViolation(_l("Enter a number from 1 to %(max)s.", max=MAX_INCREMENT_MINUTES),
                            code="bad_increment", field="billing_increment_minutes")
    for field in ("late_cancel_fee_percent", "no_show_fee_percent"):
        if not 0 <= getattr(policy, field) <= 100:
            raise RuleViolation(_l("Enter a percentage from 0 to 100."), code="bad_percent", field=field)
    for field, value in policy.__dict__.items():
        setattr(instrument, field, value)
    instrument.updated_at = now
    db.session.commit()
    return instrument
