"""The lifecycle service: transitions, audit trail, version, and the rules it enforces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from equipshare.booking import services
from equipshare.booking.models import BookingStatus
from equipshare.errors import Conflict, Forbidden, RuleViolation
from equipshare.extensions import db
from tests.factories import make_client_user, make_instrument, make_manager, make_qualification, make_user

# Monday 2026-12-07 10:00 Asia/Shanghai = 02:00 UTC
MONDAY_10 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def req(start=MONDAY_10, hours=1, samples=2, purpose="XRD phase analysis"):
    return services.BookingRequest(start=start, end=start + timedelta(hours=hours), purpose=purpose,
                                   sample_count=samples)


@pytest.fixture()
def setup():
    instrument = make_instrument(rates={"internal": 10000, "academic": 20000, "enterprise": 40000})
    manager = make_manager(instrument.lab)
    client_user = make_client_user()
    db.session.commit()
    return instrument, manager, client_user


def test_request_approve_complete_writes_audit_trail_and_versions(setup):
    instrument, manager, user = setup
    booking = services.request_booking(user, instrument.id, req(hours=1.5), NOW)
    assert booking.status == BookingStatus.PENDING
    assert booking.customer_class == "enterprise"
    assert booking.quoted_fee_fen == 60000  # 1.5 h × ¥400
    services.decide_bookings(manager, [booking.id], True, None, NOW)
    done = services.record_usage(manager, booking.id, MONDAY_10, MONDAY_10 + timedelta(hours=2), 3,
                                 MONDAY_10 + timedelta(hours=3))
    assert done.status == BookingStatus.COMPLETED and done.actual_samples == 3
    assert [(e.action, e.from_status, e.to_status) for e in done.events] == [
        ("requested", None, "pending"), ("approve", "pending", "approved"), ("complete", "approved", "completed")]
    assert done.version == 3


def test_instant_confirmation_when_no_approval_needed(setup):
    instrument, manager, user = setup
    instrument.requires_approval = False
    db.session.commit()
    booking = services.request_booking(user, instrument.id, req(), NOW)
    assert booking.status == BookingStatus.APPROVED


def test_self_operated_needs_qualification(setup):
    instrument, manager, user = setup
    instrument.booking_mode = "self"
    db.session.commit()
    with pytest.raises(RuleViolation) as err:
        services.request_booking(user, instrument.id, req(), NOW)
    assert err.value.code == "qualification_required"
    make_qualification(user, instrument, manager)
    db.session.commit()
    assert services.request_booking(user, instrument.id, req(), NOW).status == "pending"


@pytest.mark.parametrize("start,hours,code", [
    (MONDAY_10 + timedelta(minutes=10), 1, "off_grid"),
    (MONDAY_10, 0, "end_before_start"),
    (MONDAY_10, 24 * 30, "too_long"),
    (NOW - timedelta(days=1), 1, "in_past"),
    (NOW + timedelta(hours=2), 1, "too_short_notice"),
    (datetime(9999, 1, 4, 2, 0, tzinfo=UTC), 1, "beyond_horizon"),
    (MONDAY_10 - timedelta(hours=3), 1, "outside_opening_hours"),  # 07:00 local
    (MONDAY_10 - timedelta(days=1), 1, "closed_day"),  # Sunday
])
def test_rules_are_enforced_with_codes(setup, start, hours, code):
    instrument, manager, user = setup
    with pytest.raises((RuleViolation, Conflict)) as err:
        services.request_booking(user, instrument.id, req(start=start, hours=hours), NOW)
    assert err.value.code == code
    assert instrument.id and db.session.scalar(db.select(db.func.count()).select_from(services.Booking)) == 0


def test_overlap_is_refused_friendly_and_back_to_back_allowed(setup):
    instrument, manager, user = setup
    other = make_client_user()
    db.session.commit()
    services.request_booking(user, instrument.id, req(), NOW)
    with pytest.raises(Conflict) as err:
        services.request_booking(other, instrument.id, req(start=MONDAY_10 + timedelta(minutes=30)), NOW)
    assert err.value.code == "slot_taken"
    assert services.request_booking(other, instrument.id, req(start=MONDAY_10 + timedelta(hours=1)), NOW)


def test_second_decision_on_the_same_booking_conflicts(setup):
    instrument, manager, user = setup
    second_manager = make_manager(instrument.lab)
    db.session.commit()
    booking = services.request_booking(user, instrument.id, req(), NOW)
    services.decide_bookings(manager, [booking.id], True, None, NOW)
    with pytest.raises(Conflict):
        services.decide_bookings(second_manager, [booking.id], False, "busy", NOW)
    with pytest.raises(Forbidden):
        services.decide_bookings(make_manager(), [booking.id], True, None, NOW)


def test_client_cancel_inside_window_is_flagged_late(setup):
    instrument, manager, user = setup
    booking = services.request_booking(user, instrument.id, req(), NOW)
    services.decide_bookings(manager, [booking.id], True, None, NOW)
    cancelled = services.cancel_booking(user, booking.id, "plans changed", MONDAY_10 - timedelta(hours=2))
    assert cancelled.status == "cancelled" and cancelled.late_cancellation
    assert cancelled.events[-1].actor_id == user.id


def test_an_organisation_has_at_most_the_allowed_open_requests_per_instrument(setup):
    instrument, manager, user = setup
    instrument.max_open_requests_per_org = 2
    colleague = make_user(user.organisation)
    db.session.commit()
    first = services.request_booking(user, instrument.id, req(), NOW)
    services.request_booking(colleague, instrument.id, req(start=MONDAY_10 + timedelta(days=1)), NOW)
    with pytest.raises(RuleViolation) as refused:  # the organisation's, whoever of it asks
        services.request_booking(user, instrument.id, req(start=MONDAY_10 + timedelta(days=2)), NOW)
    assert refused.value.code == "too_many_open_requests"
    assert "2" in str(refused.value.message)
    other_firm = make_client_user()  # another organisation is not counted against this one
    db.session.commit()
    services.request_booking(other_firm, instrument.id, req(start=MONDAY_10 + timedelta(days=2)), NOW)
    services.cancel_booking(user, first.id, None, NOW)  # a cancelled request no longer counts
    services.request_booking(user, instrument.id, req(start=MONDAY_10 + timedelta(days=3)), NOW)
