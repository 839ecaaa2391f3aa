"""Requesting a booking: who may, the preview (fee quote and rules check), confirmation, and
refusal of bad input with nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from equipshare.accounts.models import OrgStatus
from equipshare.booking.models import Booking, BookingStatus
from equipshare.extensions import db
from tests.booking._client_world import (
    booking_count,
    event_count,
    future_monday,
    local,
    make_world,
    today_local,
)
from tests.factories import login, make_booking, make_org, make_qualification, make_user


@pytest.fixture()
def world():
    w = make_world()
    w.monday = future_monday()
    rate = w.instrument.rate_for("enterprise")
    rate.per_sample_fen = 5000
    rate.setup_fee_fen = 10000
    rate.minimum_charge_fen = 0
    db.session.commit()
    return w


def form(w, **overrides):
    data = {"date": w.monday.isoformat(), "start_time": "10:00", "end_time": "11:30", "duration_minutes": "",
            "purpose": "XRD phase analysis of coatings", "sample_description": "3 steel coupons",
            "sample_count": "3", "preview": "Preview"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def book_url(w):
    return f"/instruments/{w.instrument.id}/book"


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(book_url(world) + "?start=2026-12-07T10:00")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.post(book_url(world), data=form(world)).status_code == 302
    assert booking_count() == 0


def test_get_prefills_from_the_week_view(client, world):
    login(client, world.client)
    day = world.monday.isoformat()
    html = client.get(book_url(world) + f"?start={day}T14:00&end={day}T15:30").get_data(as_text=True)
    assert f'value="{day}"' in html and 'value="14:00"' in html and 'value="15:30"' in html
    assert "The lab reviews your request" in html
    # No fee or status fields exist on the form
    assert "quoted_fee" not in html and 'name="status"' not in html


def test_garbage_prefill_is_ignored(client, world):
    login(client, world.client)
    assert client.get(book_url(world) + "?start=yesterday&end=%00").status_code == 200


def test_preview_shows_quote_breakdown_and_writes_nothing(client, world):
    login(client, world.client)
    response = client.post(book_url(world), data=form(world))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Enterprise" in html
    assert "¥400.00/h × 1.5 h = ¥600.00" in html
    assert "¥50.00 × 3 = ¥150.00" in html
    assert "¥100.00" in html  # set-up fee
    assert "¥850.00" in html  # total
    assert 'name="confirm"' in html
    assert booking_count() == 0


def test_preview_shows_minimum_charge_when_it_applies(client, world):
    rate = world.instrument.rate_for("enterprise")
    rate.minimum_charge_fen = 200000
    db.session.commit()
    login(client, world.client)
    html = client.post(book_url(world), data=form(world)).get_data(as_text=True)
    assert "¥2,000.00" in html and "applies" in html


def test_confirm_creates_a_pending_request_and_ignores_posted_fee_and_status(client, world):
    login(client, world.client)
    response = client.post(book_url(world), data=form(world, preview=None, confirm="Confirm", status="approved",
                                                      quoted_fee_fen="1", customer_class="internal",
                                                      user_id=str(world.stranger.id)))
    assert response.status_code == 302
    booking = db.session.scalars(db.select(Booking)).one()
    assert response.headers["Location"].endswith(f"/bookings/{booking.id}")
    assert booking.status == BookingStatus.PENDING
    assert booking.quoted_fee_fen == 85000 and booking.customer_class == "enterprise"
    assert booking.user_id == world.client.id
    assert booking.start_at == local(world.monday, 10) and booking.end_at == local(world.monday, 11, 30)
    assert booking.sample_count == 3 and booking.sample_description == "3 steel coupons"


def test_duration_instead_of_end_time(client, world):
    login(client, world.client)
    response = client.post(book_url(world), data=form(world, end_time="", duration_minutes="120", preview=None,
                                                      confirm="Confirm"))
    assert response.status_code == 302
    booking = db.session.scalars(db.select(Booking)).one()
    assert booking.end_at - booking.start_at == timedelta(hours=2)


def test_instant_confirm_instrument_says_so_and_confirms(client, world):
    world.instrument.requires_approval = False
    db.session.commit()
    login(client, world.client)
    assert "confirms bookings at once" in client.get(book_url(world)).get_data(as_text=True)
    client.post(book_url(world), data=form(world, preview=None, confirm="Confirm"))
    assert db.session.scalars(db.select(Booking)).one().status == BookingStatus.APPROVED


def test_self_operated_tells_unqualified_user_before_the_form(client, world):
    world.instrument.booking_mode = "self"
    db.session.commit()
    login(client, world.client)
    response = client.get(book_url(world))
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "self-operated" in html and "qualification" in html
    assert 'name="purpose"' not in html
    assert client.post(book_url(world), data=form(world, preview=None, confirm="Confirm")).status_code == 403
    assert booking_count() == 0
    make_qualification(world.client, world.instrument, world.manager)
    db.session.commit()
    assert 'name="purpose"' in client.get(book_url(world)).get_data(as_text=True)


@pytest.mark.parametrize("case", ["pending_org", "rejected_org", "pending_member", "no_org"])
def test_users_who_may_not_request_get_a_clear_message(client, world, case):
    if case == "no_org":
        user = make_user(None, locale="en")
    elif case == "pending_member":
        user = make_user(world.org, member_status="pending", locale="en")
    else:
        status = OrgStatus.PENDING if case == "pending_org" else OrgStatus.REJECTED
        user = make_user(make_org(status=status, name="Waiting Firm"), locale="en")
    db.session.commit()
    login(client, user)
    response = client.get(book_url(world))
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert 'id="request-blocked"' in html and 'name="purpose"' not in html
    if case == "pending_org":
        assert "awaiting approval" in html
    assert client.post(book_url(world), data=form(world, preview=None, confirm="Confirm")).status_code == 403
    assert booking_count() == 0


def test_instrument_in_maintenance_cannot_be_requested(client, world):
    world.instrument.status = "maintenance"
    db.session.commit()
    login(client, world.client)
    response = client.post(book_url(world), data=form(world, preview=None, confirm="Confirm"))
    assert response.status_code == 403 and booking_count() == 0


def test_unknown_instrument_is_404(client, world):
    login(client, world.client)
    assert client.get("/instruments/987654/book").status_code == 404


BAD_INPUT = [
    ({"end_time": "09:00"}, "The end must be after the start."),
    ({"end_time": "10:00"}, "The end must be after the start."),  # zero length
    ({"end_time": "", "duration_minutes": "0"}, "between 1 and"),
    ({"end_time": "", "duration_minutes": str(30 * 24 * 60)}, "between 1 and"),  # 30 days
    ({"end_time": "", "duration_minutes": ""}, "Enter an end time or a duration."),
    ({"end_time": "11:00", "duration_minutes": "30"}, "does not match"),
    ({"date": "PAST"}, "The start is in the past."),
    ({"date": "9999-12-31"}, "Enter a date between"),
    ({"date": "2026-02-30"}, "Not a valid date"),
    ({"start_time": "10:10", "end_time": "11:10"}, "30-minute grid"),
    ({"start_time": "25:00"}, "Not a valid time"),
    ({"date": "tomorrow"}, "Not a valid date"),
    ({"sample_count": "lots"}, "Not a valid integer"),
    ({"sample_count": "-1"}, "Between 0 and"),
    ({"sample_count": "99999999999999999999"}, "Between 0 and"),
    ({"purpose": "   "}, "Say what the booking is for."),
    ({"purpose": "bad\x00byte"}, "not allowed"),
    ({"purpose": "x" * 2001}, "2000"),
    ({"start_time": "07:00", "end_time": "08:00"}, "outside opening hours"),
    ({"date": "SATURDAY"}, "not open on"),
    ({"date": "SOON"}, "notice"),
    ({"date": "FAR"}, "days ahead"),
    ({"end_time": "", "duration_minutes": "600"}, "at most 480 minutes"),
]


@pytest.mark.parametrize("action", ["preview", "confirm"])
@pytest.mark.parametrize("overrides,message", BAD_INPUT, ids=[m for _, m in BAD_INPUT])
def test_bad_input_is_refused_and_writes_nothing(client, world, overrides, message, action):
    special = {"PAST": (today_local() - timedelta(days=3)).isoformat(),
               "SATURDAY": (world.monday + timedelta(days=5)).isoformat(),
               "SOON": today_local().isoformat(),
               "FAR": (today_local() + timedelta(days=90)).isoformat()}
    overrides = {k: special.get(v, v) for k, v in overrides.items()}
    if overrides.get("date") == today_local().isoformat():
        overrides.update(start_time="17:00", end_time="17:30")  # later today, inside the 24 h notice
    login(client, world.client)
    buttons = {"preview": "Preview"} if action == "preview" else {"preview": None, "confirm": "Confirm"}
    before = event_count()
    response = client.post(book_url(world), data=form(world, **overrides, **buttons))
    html = response.get_data(as_text=True)
    assert response.status_code in (409, 422), response.status_code
    assert message in html
    assert booking_count() == 0 and event_count() == before


def test_clash_with_an_existing_booking_is_a_conflict_on_the_form(client, world):
    make_booking(world.instrument, world.stranger, start=local(world.monday, 11), hours=1,
                 status=BookingStatus.APPROVED)
    db.session.commit()
    login(client, world.client)
    for buttons in ({"preview": "Preview"}, {"preview": None, "confirm": "Confirm"}):
        response = client.post(book_url(world), data=form(world, **buttons))
        html = response.get_data(as_text=True)
        assert response.status_code == 409
        assert "overlaps another booking" in html
        assert "Secretive Materials Co" not in html and "Stranger Qian" not in html
    assert booking_count() == 1


def test_missing_csrf_is_refused(client, world):
    login(client, world.client)
    response = client.post(book_url(world), data=form(world, preview=None, confirm="Confirm"), no_csrf=True)
    assert response.status_code == 400 and booking_count() == 0


def test_a_confirmed_request_takes_the_same_few_statements_whatever_the_history(client, world, count_queries):
    """The booking POST: the user (login), the instrument and the user again under the write
    lock, one statement for the clash and the open-request count, the booking, its event, the
    managers' mute check and the mail — 8, however many bookings the instrument already has."""
    login(client, world.client)
    url = book_url(world)
    counts = []
    for start_time, end_time in (("10:00", "11:00"), ("14:00", "15:00")):
        with count_queries() as q:
            response = client.post(url, data=form(world, start_time=start_time, end_time=end_time, preview=None,
                                                  confirm="Confirm"))
        assert response.status_code == 302
        counts.append(q.count)
        for week in range(1, 201):  # history: 200 past bookings on the instrument
            make_booking(world.instrument, world.client, start=local(world.monday - timedelta(weeks=week), 9),
                         hours=1, status=BookingStatus.COMPLETED)
        db.session.commit()
    assert counts[0] == counts[1] <= 8, counts
