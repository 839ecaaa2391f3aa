"""The booking lifecycle. Every state change goes through ``_transition``, which checks the
state, writes the audit event and bumps ``version``; every public function is one transaction
(``begin_write`` … ``commit``) and queues its notifications (outbox rows) in that same
transaction, just before the commit; they are sent after it (equipshare/notifications)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, literal_column, select, true, union_all
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from equipshare.accounts.models import User
from equipshare.billing.charges import charge_booking
from equipshare.booking import notify
from equipshare.booking.models import (
    HOLDS_SLOT,
    MAX_BOOKING_MINUTES,
    SLOT_HOLDING,
    Booking,
    BookingEvent,
    BookingStatus,
    Downtime,
    Qualification,
)
from equipshare.booking.permissions import (
    can_cancel_booking,
    can_decide_booking,
    can_manage_bookings_of,
    can_record_usage,
    can_reschedule_booking,
)
from equipshare.booking.rules import check_interval_rules, check_samples
from equipshare.catalogue.models import BookingMode, Instrument, Lab
from equipshare.catalogue.pricing import customer_class_for, quote
from equipshare.db import begin_write
from equipshare.errors import Conflict, Forbidden, NotFound, RuleViolation
from equipshare.extensions import db
from equipshare.timeutil import format_local
from equipshare.web import status_label

# action → (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({BookingStatus.PENDING}), BookingStatus.APPROVED),
    "reject": (frozenset({BookingStatus.PENDING}), BookingStatus.REJECTED),
    "cancel": (frozenset(SLOT_HOLDING), BookingStatus.CANCELLED),
    "expire": (frozenset({BookingStatus.PENDING}), BookingStatus.EXPIRED),
    "complete": (frozenset({BookingStatus.APPROVED}), BookingStatus.COMPLETED),
    "no_show": (frozenset({BookingStatus.APPROVED}), BookingStatus.NO_SHOW),
}

MAX_TEXT = 2000


@dataclass(frozen=True)
class BookingRequest:
    start: datetime
    end: datetime
    purpose: str
    sample_description: str | None = None
    sample_count: int = 0


# --- helpers -----------------------------------------------------------------------------------


def _lock_booking(booking_id: int) -> Booking:
    """Reload the booking under a row lock (PostgreSQL) / inside the write lock (SQLite)."""
    booking = db.session.scalar(
        select(Booking).where(Booking.id == booking_id).with_for_update().execution_options(populate_existing=True)
    )
    if booking is None:
        raise NotFound(_l("No such booking."), code="booking_not_found")
    return booking


def _event(booking: Booking, action: str, actor: User | None, now: datetime, note: str | None,
           from_status: str | None, to_status: str | None) -> BookingEvent:
    event = BookingEvent(booking=booking, actor_id=actor.id if actor else None, at=now, action=action,
                         from_status=from_status, to_status=to_status, note=note)
    db.session.add(event)
    return event


def _touch(booking: Booking, now: datetime) -> None:
    booking.version += 1
    booking.updated_at = now


def _transition(booking: Booking, action: str, actor: User | None, now: datetime, note: str | None = None,
                **changes) -> BookingEvent:
    """The one place a booking changes state. The caller holds the lock and has checked permission."""
    allowed_from, to_status = TRANSITIONS[action]
    if booking.status not in allowed_from:
        raise Conflict(
            _l("This booking is already %(status)s; it cannot be changed that way.", status=status_label(booking.status).lower()),
            code="booking_state_changed")
    from_status = booking.status
    booking.status = to_status
    for name, value in changes.items():
        setattr(booking, name, value)
    _touch(booking, now)
    return _event(booking, action, actor, now, note, from_status, to_status)


def _clean(text: str | None, field: str, required: bool = False) -> str | None:
    text = (text or "").strip()
    if required and not text:
        raise RuleViolation(_l("Please fill in this field."), code="required", field=field)
    if len(text) > MAX_TEXT or "\x00" in text:
        raise RuleViolation(_l("This text is too long or contains characters that are not allowed."),
                            code="bad_text", field=field)
    return text or None


def _commit_slot_change(events: list[BookingEvent] = ()) -> None:
    """Flush, queue the events' notifications, commit; an overlap refused by the database (at
    the flush) becomes a friendly Conflict."""
    try:
        db.session.flush()
        notify.queue_booking_events(events)
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if "slot_overlap" in str(exc.orig) or "ex_bookings_no_overlap" in str(exc.orig) or getattr(
            exc.orig, "sqlstate", None
        ) == "23P01":
            raise Conflict(_l("Someone else has just taken this time. Please choose another slot."),
                           code="slot_taken") from exc
        raise


def _slot_statement():
    """The first slot-holding booking that overlaps [start, end) (rank 0), else the first
    downtime (rank 1), and the number of the organisation's open bookings on the instrument, in
    one round trip. Built once with bind parameters: building it per call cost more than running
    it. The bounds are the indexed ranges of ix_bookings_instrument_start / _org_start."""
    booking = select(Booking.start_at, Booking.end_at, literal_column("0").label("rank")).where(
        Booking.instrument_id == bindparam("instrument_id"), HOLDS_SLOT,
        Booking.start_at < bindparam("end"), Booking.start_at > bindparam("low"), Booking.end_at > bindparam("start"),
        Booking.id != bindparam("exclude_id"),
    ).limit(1)
    downtime = select(Downtime.start_at, Downtime.end_at, literal_column("1").label("rank")).where(
        Downtime.instrument_id == bindparam("instrument_id"),
        Downtime.start_at < bindparam("end"), Downtime.end_at > bindparam("start"),
    ).limit(1)
    both = union_all(booking.subquery().select(), downtime.subquery().select()).subquery()
    first = select(both).order_by(both.c.rank).limit(1).subquery()
    open_count = select(func.count()).select_from(Booking).where(
        Booking.instrument_id == bindparam("instrument_id"),
        Booking.organisation_id == bindparam("organisation_id"), HOLDS_SLOT,
        Booking.end_at > bindparam("now"),
        # implied by end_at > now (no booking is longer); bounds the index range scan, so an
        # organisation's years of history are not read (bench: 7.5 ms → 0.1 ms at 1M bookings)
        Booking.start_at > bindparam("now_low"),
    ).scalar_subquery()
    counted = select(open_count.label("open_count")).subquery()
    return select(counted.c.open_count, first.c.start_at, first.c.end_at, first.c.rank).select_from(
        counted.outerjoin(first, true()))


_SLOT = _slot_statement()


def slot_state(instrument_id: int, start: datetime, end: datetime, now: datetime, organisation_id: int | None = None,
               exclude_booking_id: int | None = None) -> tuple[int, str | None]:
    """(open bookings of ``organisation_id`` on the instrument, a description of what occupies
    [start, end) without saying who — None when free)."""
    window = timedelta(minutes=MAX_BOOKING_MINUTES)
    row = db.session.execute(_SLOT, {
        "instrument_id": instrument_id, "start": start, "end": end, "low": start - window,
        "exclude_id": exclude_booking_id if exclude_booking_id is not None else 0,
        "organisation_id": organisation_id, "now": now, "now_low": now - window,
    }).one()
    if row.rank is None:
        return row.open_count, None
    if row.rank == 0:
        return row.open_count, str(_l("This time overlaps another booking (%(start)s–%(end)s).",
                                      start=format_local(row.start_at), end=format_local(row.end_at, "%H:%M")))
    return row.open_count, str(_l("The instrument is unavailable then (maintenance %(start)s – %(end)s).",
                                  start=format_local(row.start_at), end=format_local(row.end_at)))


def find_clash(instrument_id: int, start: datetime, end: datetime, exclude_booking_id: int | None = None) -> str | None:
    """A description of what occupies [start, end), without saying who; None when free."""
    return slot_state(instrument_id, start, end, start, exclude_booking_id=exclude_booking_id)[1]


def is_qualified(user: User, instrument: Instrument) -> bool:
    return db.session.scalar(
        select(func.count()).select_from(Qualification).where(
            Qualification.user_id == user.id, Qualification.instrument_id == instrument.id)
    ) > 0


def check_can_request(user: User, instrument: Instrument) -> None:
    if not user.is_active:
        raise Forbidden(_l("Your account is deactivated."), code="user_inactive")
    if user.organisation is None or not user.is_client:
        raise RuleViolation(_l("Only members of an approved organisation can request bookings."),
                            code="organisation_not_approved")
    if instrument.booking_mode == BookingMode.SELF and not is_qualified(user, instrument):
        raise RuleViolation(
            _l("This instrument is self-operated: you need a qualification from its lab first. "
               "Ask the lab for training, or choose a staff-operated service instrument."),
            code="qualification_required")


def quote_for(user: User, instrument: Instrument, start: datetime, end: datetime, sample_count: int):
    customer_class = customer_class_for(user.organisation, instrument)
    minutes = int((end - start).total_seconds() // 60)
    return quote(instrument.rate_for(customer_class), customer_class, minutes, sample_count)


def validate_request(user: User, instrument: Instrument, req: BookingRequest, now: datetime):
    """Everything a request must satisfy except the final, database-guarded overlap. Returns the quote."""
    check_can_request(user, instrument)
    check_interval_rules(instrument, req.start, req.end, now)
    check_samples(req.sample_count)
    _clean(req.purpose, "purpose", required=True)
    _clean(req.sample_description, "sample_description")
    open_requests, clash = slot_state(instrument.id, req.start, req.end, now, organisation_id=user.organisation_id)
    if open_requests >= instrument.max_open_requests_per_org:
        raise RuleViolation(
            _l("Your organisation already has %(n)s open bookings on this instrument, the most allowed. "
               "Wait until one is used or cancel one.", n=instrument.max_open_requests_per_org),
            code="too_many_open_requests")
    if clash:
        raise Conflict(clash, code="slot_taken", field="start")
    return quote_for(user, instrument, req.start, req.end, req.sample_count)


# --- client actions ----------------------------------------------------------------------------------


def _identity(obj) -> int:
    """The primary key of a loaded object without refreshing it (begin_write expired it)."""
    identity = sa_inspect(obj).identity
    return identity[0] if identity else obj.id


def request_booking(user: User, instrument_id: int, req: BookingRequest, now: datetime) -> Booking:
    """A client asks for a slot. Instruments that need no approval confirm at once. The fee is
    always computed here; nothing the client sends can set it."""
    begin_write(db.session)
    # Reloaded inside the write transaction (the view's copies are expired by begin_write), with
    # everything the checks, the quote and the managers' notification read: two queries instead
    # of one lazy load each.
    instrument = db.session.scalars(
        select(Instrument).where(Instrument.id == instrument_id)
        .options(joinedload(Instrument.rate_cards), joinedload(Instrument.lab).joinedload(Lab.managers))
        .execution_options(populate_existing=True)
    ).unique().first()
    user = db.session.scalars(
        select(User).where(User.id == _identity(user)).options(joinedload(User.organisation))
        .execution_options(populate_existing=True)
    ).first()
    if instrument is None:
        raise NotFound(_l("No such instrument."), code="instrument_not_found")
    fee = validate_request(user, instrument, req, now)
    booking = Booking(
        instrument=instrument, user=user, organisation_id=user.organisation_id,
        start_at=req.start, end_at=req.end, status=BookingStatus.PENDING,
        purpose=_clean(req.purpose, "purpose", required=True),
        sample_description=_clean(req.sample_description, "sample_description"),
        sample_count=req.sample_count, customer_class=fee.customer_class, quoted_fee_fen=fee.total_fen,
        created_at=now, updated_at=now, version=1,
    )
    db.session.add(booking)
    events = [_event(booking, "requested", user, now, None, None, BookingStatus.PENDING)]
    if not instrument.requires_approval:
        # actor None: confirmed by the system, because this instrument needs no approval
        events.append(_transition(booking, "approve", None, now, None, decided_at=now))
    status = booking.status
    _commit_slot_change(events)
    # What the caller reads next (the flash message) is exactly what was just committed; say so
    # rather than reload the booking in a new transaction.
    set_committed_value(booking, "id", _identity(booking))
    set_committed_value(booking, "status", status)
    return booking


def cancellation_would_be_late(actor: User, booking: Booking, now: datetime) -> bool:
    """A client's cancellation of an approved booking inside the instrument's late-cancel window
    is flagged (and may be charged). Also used to warn before the client confirms."""
    by_manager = can_manage_bookings_of(actor, booking.instrument) and actor.id != booking.user_id
    return (not by_manager and booking.status == BookingStatus.APPROVED
            and booking.start_at - now < timedelta(hours=booking.instrument.late_cancel_hours))


def cancel_booking(actor: User, booking_id: int, reason: str | None, now: datetime) -> Booking:
    begin_write(db.session)
    booking = _lock_booking(booking_id)
    actor = db.session.get(User, actor.id)
    if not can_cancel_booking(actor, booking, now):
        if booking.status not in SLOT_HOLDING:
            raise Conflict(_l("This booking is already %(status)s.", status=status_label(booking.status).lower()), code="booking_state_changed")
        raise Forbidden(_l("You cannot cancel this booking."), code="cannot_cancel")
    reason = _clean(reason, "reason")
    by_manager = can_manage_bookings_of(actor, booking.instrument) and actor.id != booking.user_id
    if by_manager and not reason:
        raise RuleViolation(_l("Please give the client a reason."), code="reason_required", field="reason")
    late = cancellation_would_be_late(actor, booking, now)
    event = _transition(booking, "cancel", actor, now, reason, cancelled_by_id=actor.id, cancelled_at=now,
                        cancel_reason=reason, late_cancellation=late)
    charge_booking(booking, actor, now)  # a late cancellation is charged (billing policy)
    notify.queue_booking_events([event])
    db.session.commit()
    return booking


def reschedule_booking(actor: User, booking_id: int, start: datetime, end: datetime, now: datetime) -> Booking:
    """Move a booking that has not started. A client's move of an approved booking on an
    instrument that needs approval sends it back to the queue."""
    begin_write(db.session)
    booking = _lock_booking(booking_id)
    actor = db.session.get(User, actor.id)
    if not can_reschedule_booking(actor, booking, now):
        raise Forbidden(_l("You cannot move this booking."), code="cannot_reschedule")
    instrument = booking.instrument
    by_manager = can_manage_bookings_of(actor, instrument)
    check_interval_rules(instrument, start, end, now, check_notice=not by_manager)
    clash = find_clash(instrument.id, start, end, exclude_booking_id=booking.id)
    if clash:
        raise Conflict(clash, code="slot_taken", field="start")
    old = f"{format_local(booking.start_at)}–{format_local(booking.end_at, '%H:%M')}"
    booking.start_at, booking.end_at = start, end
    fee = quote_for(booking.user, instrument, start, end, booking.sample_count)
    booking.quoted_fee_fen = fee.total_fen
    note = f"{old} → {format_local(start)}–{format_local(end, '%H:%M')}"
    if booking.status == BookingStatus.APPROVED and instrument.requires_approval and not by_manager:
        booking.status = BookingStatus.PENDING
        booking.decided_at = booking.decided_by_id = None
        _touch(booking, now)
        event = _event(booking, "rescheduled", actor, now, note, BookingStatus.APPROVED, BookingStatus.PENDING)
    else:
        _touch(booking, now)
        event = _event(booking, "rescheduled", actor, now, note, booking.status, booking.status)
    _commit_slot_change([event])
    return booking


def edit_booking_details(actor: User, booking_id: int, purpose: str, sample_description: str | None,
                         sample_count: int, now: datetime) -> Booking:
    begin_write(db.session)
    booking = _lock_booking(booking_id)
    actor = db.session.get(User, actor.id)
    if not can_reschedule_booking(actor, booking, now):
        raise Forbidden(_l("You cannot edit this booking."), code="cannot_edit")
    check_samples(sample_count)
    booking.purpose = _clean(purpose, "purpose", required=True)
    booking.sample_description = _clean(sample_description, "sample_description")
    booking.sample_count = sample_count
    booking.quoted_fee_fen = quote_for(booking.user, booking.instrument, booking.start_at, booking.end_at,
                                       sample_count).total_fen
    _touch(booking, now)
    _event(booking, "edited", actor, now, None, booking.status, booking.status)
    db.session.commit()
    return booking


# --- manager actions ---------------------------------------------------------------------------------


def decide_bookings(actor: User, booking_ids: list[int], approve: bool, reason: str | None,
                    now: datetime) -> list[Booking]:
    """Approve or reject one or several pending requests at once (all or nothing)."""
    reason = _clean(reason, "reason")
    if not approve and not reason:
        raise RuleViolation(_l("A rejection needs a reason for the client."), code="reason_required", field="reason")
    if not booking_ids:
        raise RuleViolation(_l("Select at least one request."), code="nothing_selected")
    begin_write(db.session)
    actor = db.session.get(User, actor.id)
    decided, events = [], []
    for booking_id in sorted(set(booking_ids)):
        booking = _lock_booking(booking_id)
        if not can_manage_bookings_of(actor, booking.instrument):
            raise Forbidden(_l("You do not manage this instrument."), code="not_your_instrument")
        if not can_decide_booking(actor, booking):
            raise Conflict(_l("Booking #%(id)s is already %(status)s.", id=booking.id, status=status_label(booking.status).lower()),
                           code="booking_state_changed")
        events.append(_transition(booking, "approve" if approve else "reject", actor, now, reason,
                                  decided_by_id=actor.id, decided_at=now, decision_reason=reason))
        decided.append(booking)
    notify.queue_booking_events(events)
    db.session.commit()
    return decided


def _begin_outcome(actor: User, booking_id: int, now: datetime, not_started) -> tuple[Booking, User]:
    """Start recording what happened to an approved booking (usage or no-show): lock it and
    check that the actor manages it and that it has started."""
    begin_write(db.session)
    booking = _lock_booking(booking_id)
    actor = db.session.get(User, actor.id)
    if not can_manage_bookings_of(actor, booking.instrument):
        raise Forbidden(_l("You do not manage this instrument."), code="not_your_instrument")
    if not can_record_usage(actor, booking, now):
        if booking.status != BookingStatus.APPROVED:
            raise Conflict(_l("This booking is already %(status)s.", status=status_label(booking.status).lower()),
                           code="booking_state_changed")
        raise RuleViolation(not_started, code="not_started")
    return booking, actor


def record_usage(actor: User, booking_id: int, actual_start: datetime, actual_end: datetime,
                 samples: int, now: datetime, note: str | None = None) -> Booking:
    booking, actor = _begin_outcome(actor, booking_id, now,
                                    _l("Usage can be recorded once the booking has started."))
    if actual_end <= actual_start:
        raise RuleViolation(_l("The end must be after the start."), code="end_before_start", field="actual_end")
    if actual_end > now:
        raise RuleViolation(_l("The actual end cannot be in the future."), code="in_future", field="actual_end")
    if actual_end - actual_start > timedelta(minutes=MAX_BOOKING_MINUTES) or \
            abs(actual_start - booking.start_at) > timedelta(days=1):
        raise RuleViolation(_l("The actual times must lie near the booked time."), code="usage_out_of_range",
                            field="actual_start")
    check_samples(samples)
    event = _transition(booking, "complete", actor, now, _clean(note, "note"), actual_start_at=actual_start,
                        actual_end_at=actual_end, actual_samples=samples, usage_recorded_by_id=actor.id)
    charge_booking(booking, actor, now)  # the usage charge, in the same transaction
    notify.queue_booking_events([event])
    db.session.commit()
    return booking


def mark_no_show(actor: User, booking_id: int, now: datetime, note: str | None = None) -> Booking:
    booking, actor = _begin_outcome(actor, booking_id, now,
                                    _l("A no-show can be recorded once the booking has started."))
    event = _transition(booking, "no_show", actor, now, _clean(note, "note"), usage_recorded_by_id=actor.id)
    charge_booking(booking, actor, now)  # the no-show fee (billing policy)
    notify.queue_booking_events([event])
    db.session.commit()
    return booking


def expire_booking(booking_id: int, now: datetime, before_start: timedelta = timedelta(0)) -> Booking | None:
    """System action (scheduled job): a request nobody decided before its start (or before
    ``start - before_start``, the EXPIRE_PENDING_HOURS_BEFORE_START deadline) expires."""
    begin_write(db.session)
    booking = _lock_booking(booking_id)
    if booking.status != BookingStatus.PENDING or booking.start_at - before_start > now:
        db.session.rollback()
        return None
    event = _transition(booking, "expire", None, now, None)
    notify.queue_booking_events([event])
    db.session.commit()
    return booking


def mark_awaiting_usage(booking_id: int, now: datetime) -> Booking | None:
    """System action (scheduled job): an approved booking whose end has passed now awaits the
    manager's usage entry. A marker and an audit event, not a new status, and no version bump:
    the booking itself (and so its calendar entry) has not changed."""
    begin_write(db.session)
    booking = _lock_booking(booking_id)
    if booking.status != BookingStatus.APPROVED or booking.end_at > now or booking.awaiting_usage_at is not None:
        db.session.rollback()
        return None
    booking.awaiting_usage_at = now
    _event(booking, "awaiting_usage", None, now, None, booking.status, booking.status)
    db.session.commit()
    return booking


def mark_unrecorded_no_show(booking_id: int, now: datetime, grace: timedelta) -> Booking | None:
    """System action (scheduled job): nobody recorded usage within ``grace`` after the end
    (USAGE_GRACE_HOURS), so the booking counts as a no-show."""
    begin_write(db.session)
    booking = _lock_booking(booking_id)
    if booking.status != BookingStatus.APPROVED or booking.end_at + grace > now:
        db.session.rollback()
        return None
    event = _transition(booking, "no_show", None, now, None)
    charge_booking(booking, None, now)  # the no-show fee (billing policy)
    notify.queue_booking_events([event])
    db.session.commit()
    return booking


# --- downtime and qualifications ---------------------------------------------------------------------


def overlapping_bookings(instrument_id: int, start: datetime, end: datetime) -> list[Booking]:
    return list(db.session.scalars(
        select(Booking).where(
            Booking.instrument_id == instrument_id, Booking.status.in_(SLOT_HOLDING),
            Booking.start_at < end, Booking.start_at > start - timedelta(minutes=MAX_BOOKING_MINUTES),
            Booking.end_at > start,
        ).order_by(Booking.start_at)
    ))


def create_downtime(actor: User, instrument_id: int, start: datetime, end: datetime, reason: str,
                    now: datetime, cancel_overlapping: bool = False, cancel_reason: str | None = None,
                    expected_cancel_ids: set[int] | None = None) -> Downtime:
    """Block an interval. Bookings it overlaps must be cancelled in the same step (with a reason
    the clients are told); without ``cancel_overlapping`` the overlap is refused, naming them.
    ``expected_cancel_ids``: the bookings the manager was shown and agreed to cancel; if the
    overlapping set has changed meanwhile, nothing is done (Conflict), so nobody's booking is
    cancelled unseen."""
    begin_write(db.session)
    instrument = db.session.get(Instrument, instrument_id)
    actor = db.session.get(User, actor.id)
    if instrument is None:
        raise NotFound(_l("No such instrument."), code="instrument_not_found")
    if not can_manage_bookings_of(actor, instrument):
        raise Forbidden(_l("You do not manage this instrument."), code="not_your_instrument")
    if end <= start:
        raise RuleViolation(_l("The end must be after the start."), code="end_before_start", field="end")
    if end - start > timedelta(days=366):
        raise RuleViolation(_l("Downtime can last at most a year."), code="too_long", field="end")
    if end <= now:
        raise RuleViolation(_l("Downtime must end in the future."), code="in_past", field="end")
    reason = _clean(reason, "reason", required=True)
    clashes = overlapping_bookings(instrument.id, start, end)
    events = []
    if clashes:
        if not cancel_overlapping:
            raise Conflict(_l("This downtime overlaps %(n)s booking(s); cancel them to continue.", n=len(clashes)),
                           code="downtime_overlaps_bookings")
        if expected_cancel_ids is not None and {b.id for b in clashes} != set(expected_cancel_ids):
            raise Conflict(_l("The bookings in this interval have changed meanwhile. Please review them again."),
                           code="downtime_overlap_changed")
        cancel_reason = _clean(cancel_reason, "cancel_reason") or reason
        for booking in clashes:
            _lock_booking(booking.id)
            events.append(_transition(booking, "cancel", actor, now, cancel_reason, cancelled_by_id=actor.id,
                                      cancelled_at=now, cancel_reason=cancel_reason))
        db.session.flush()
    downtime = Downtime(instrument=instrument, start_at=start, end_at=end, reason=reason, created_by=actor,
                        created_at=now, updated_at=now)
    db.session.add(downtime)
    _commit_slot_change(events)
    return downtime


def _delete_managed(actor: User, model, object_id: int, not_found) -> None:
    """Delete a downtime or qualification of an instrument the actor manages."""
    begin_write(db.session)
    obj = db.session.get(model, object_id)
    actor = db.session.get(User, actor.id)
    if obj is None:
        raise NotFound(not_found, code="not_found")
    if not can_manage_bookings_of(actor, obj.instrument):
        raise Forbidden(_l("You do not manage this instrument."), code="not_your_instrument")
    db.session.delete(obj)
    db.session.commit()


def delete_downtime(actor: User, downtime_id: int, now: datetime) -> None:
    _delete_managed(actor, Downtime, downtime_id, _l("No such downtime."))


def grant_qualification(actor: User, user_id: int, instrument_id: int, now: datetime,
                        note: str | None = None) -> Qualification:
    begin_write(db.session)
    instrument = db.session.get(Instrument, instrument_id)
    actor = db.session.get(User, actor.id)
    user = db.session.get(User, user_id)
    if instrument is None or user is None:
        raise NotFound(_l("No such user or instrument."), code="not_found")
    if not can_manage_bookings_of(actor, instrument):
        raise Forbidden(_l("You do not manage this instrument."), code="not_your_instrument")
    existing = db.session.scalar(select(Qualification).where(
        Qualification.user_id == user.id, Qualification.instrument_id == instrument.id))
    if existing is not None:
        raise Conflict(_l("%(name)s is already qualified for this instrument.", name=user.name),
                       code="already_qualified")
    qualification = Qualification(user=user, instrument=instrument, granted_by=actor, granted_at=now,
                                  note=_clean(note, "note"))
    db.session.add(qualification)
    db.session.commit()
    return qualification


def revoke_qualification(actor: User, qualification_id: int, now: datetime) -> None:
    _delete_managed(actor, Qualification, qualification_id, _l("No such qualification."))
