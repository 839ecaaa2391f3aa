"""The managers' request queue: listing, filtering, and approving or rejecting several at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from equipshare.booking.models import Booking, BookingEvent, BookingStatus
from equipshare.extensions import db
from tests.booking._manage_world import build_world, local, snapshot
from tests.factories import login, make_booking, make_client_user, make_instrument

DECIDE = "/manage/bookings/decide"
QUEUE = "/manage/bookings/queue"


@pytest.fixture()
def world():
    return build_world()


def _text(response) -> str:
    return response.get_data(as_text=True)


def _box(booking) -> str:
    return f'name="booking_ids" value="{booking.id}"'


def test_queue_lists_pending_requests_of_my_labs_oldest_first(client, world):
    newer = make_booking(world.inst_a, make_client_user(name="Later Requester"), start=local(5, 14),
                         created_at=world.pending.created_at + timedelta(minutes=5))
    db.session.commit()
    login(client, world.manager_a)
    html = _text(client.get(QUEUE))
    assert "XRD of powders" in html and "Linyi Coatings Ltd" in html and "Client Member" in html
    assert "¥400.00" in html and "Enterprise" in html
    assert html.index(_box(world.pending)) < html.index(_box(newer))
    # Times are China time: 10:00 local.
    assert local(3, 10).astimezone(world.pending.start_at.tzinfo) == world.pending.start_at
    assert "10:00–11:00" in html
    # Not pending, or another lab's: not listed.
    assert "Lab B secret purpose" not in html
    assert _box(world.approved) not in html


def test_queue_filters_by_instrument(client, world):
    other = make_instrument(world.lab_a, name_zh="第二台仪器", name_en="Second instrument")
    second = make_booking(other, world.client_user, start=local(6, 10), purpose="Second instrument job")
    db.session.commit()
    login(client, world.manager_a)
    html = _text(client.get(f"{QUEUE}?instrument={other.id}"))
    assert _box(second) in html and _box(world.pending) not in html
    assert "Second instrument job" in html
    # A filter on another lab's instrument shows nothing of it.
    html = _text(client.get(f"{QUEUE}?instrument={world.inst_b.id}"))
    assert "Lab B secret purpose" not in html and "No requests are waiting" in html


def test_approve_several_at_once_tells_each_client(client, world, mailbox):
    second = make_booking(world.inst_a, world.org_admin, start=local(5, 10))
    db.session.commit()
    login(client, world.manager_a)
    response = client.post(DECIDE, data={"booking_ids": [world.pending.id, second.id], "decision": "approve"})
    assert response.status_code == 302
    assert "2 requests approved" in _text(client.get(QUEUE))
    for booking in (world.pending, second):
        assert booking.status == BookingStatus.APPROVED and booking.decided_by_id == world.manager_a.id
        assert booking.version == 2
        assert [e.action for e in booking.events] == ["approve"]
    mailbox.wait_for(2)
    assert {m["To"] for m in mailbox} == {world.client_user.email, world.org_admin.email}
    assert all("approved" in m["Subject"] for m in mailbox)


def test_reject_needs_a_reason_which_reaches_the_client(client, world, mailbox):
    login(client, world.manager_a)
    before = snapshot()
    response = client.post(DECIDE, data={"booking_ids": [world.pending.id], "decision": "reject", "reason": "  "})
    assert response.status_code == 422
    assert "A rejection needs a reason" in _text(response)
    assert f'value="{world.pending.id}" id="pick-{world.pending.id}"\n                   checked' in _text(response)
    assert snapshot() == before
    response = client.post(DECIDE, data={"booking_ids": [world.pending.id], "decision": "reject",
                                         "reason": "The instrument is reserved for a service contract."})
    assert response.status_code == 302
    assert world.pending.status == BookingStatus.REJECTED
    assert world.pending.decision_reason == "The instrument is reserved for a service contract."
    mailbox.wait_for(1)
    assert "reserved for a service contract" in mailbox.body(mailbox.to(world.client_user.email)[0])


@pytest.mark.parametrize("data,message", [
    ({"decision": "approve"}, "Select at least one request"),
    ({"booking_ids": "", "decision": "approve"}, "Select at least one request"),
    ({"booking_ids": ["12abc"], "decision": "approve"}, "invalid booking number"),
    ({"booking_ids": ["-3"], "decision": "approve"}, "invalid booking number"),
    ({"booking_ids": ["1"], "decision": "maybe"}, "Choose approve or reject"),
    ({"booking_ids": ["1"]}, "This field is required"),
    ({"booking_ids": [str(i) for i in range(1, 300)], "decision": "approve"}, "at most 200"),
    ({"booking_ids": ["1"], "decision": "reject", "reason": "x" * 2001}, "Field cannot be longer"),
    ({"booking_ids": ["1"], "decision": "reject", "reason": "bad\x00byte"}, "not allowed"),
])
def test_bad_decisions_are_refused_and_write_nothing(client, world, data, message):
    login(client, world.manager_a)
    before = snapshot()
    response = client.post(DECIDE, data=data)
    assert response.status_code == 422
    assert message in _text(response)
    assert snapshot() == before


def test_already_decided_is_a_409_and_all_or_nothing(client, world):
    login(client, world.manager_a)
    before = snapshot()
    response = client.post(DECIDE, data={"booking_ids": [world.pending.id, world.approved.id], "decision": "approve"})
    assert response.status_code == 409
    assert f"Booking #{world.approved.id} is already approved" in _text(response)
    assert snapshot() == before
    assert world.pending.status == BookingStatus.PENDING


def test_a_booking_of_another_lab_in_the_selection_changes_nothing(client, world):
    login(client, world.manager_a)
    before = snapshot()
    response = client.post(DECIDE, data={"booking_ids": [world.pending.id, world.pending_b.id], "decision": "approve"})
    assert response.status_code == 403
    assert snapshot() == before


def test_unknown_booking_is_404(client, world):
    login(client, world.manager_a)
    before = snapshot()
    response = client.post(DECIDE, data={"booking_ids": [world.pending.id, 999999], "decision": "approve"})
    assert response.status_code == 404
    assert snapshot() == before


def test_decision_keeps_the_instrument_filter(client, world):
    login(client, world.manager_a)
    response = client.post(DECIDE, data={"booking_ids": [world.pending.id], "decision": "approve",
                                         "instrument": world.inst_a.id})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{QUEUE}?instrument={world.inst_a.id}")


def test_decide_writes_one_event_per_booking(client, world):
    login(client, world.manager_a)
    client.post(DECIDE, data={"booking_ids": [world.pending.id], "decision": "approve"})
    events = db.session.scalars(db.select(BookingEvent).where(BookingEvent.booking_id == world.pending.id)).all()
    assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in events] == [
        ("approve", "pending", "approved", world.manager_a.id)]
    assert db.session.get(Booking, world.pending.id).version == 2
