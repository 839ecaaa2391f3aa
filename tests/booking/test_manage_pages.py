"""The managers' agenda, downtime, qualifications and usage pages: happy paths and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from equipshare.booking.models import BookingStatus, Downtime, Qualification
from equipshare.db import utcnow
from equipshare.extensions import db
from equipshare.timeutil import format_local
from tests.booking._manage_world import build_world, local, snapshot
from tests.factories import login, make_booking, make_client_user, make_instrument, make_user


@pytest.fixture()
def world():
    return build_world()


def _text(response) -> str:
    return response.get_data(as_text=True)


def _local_input(value) -> str:
    return format_local(value, "%Y-%m-%dT%H:%M")


# --- agenda ----------------------------------------------------------------------------------------


def test_agenda_groups_by_day_and_flags_bookings_awaiting_usage(client, world):
    later = make_booking(world.inst_a, make_client_user(name="Later Client"), start=local(6, 14),
                         status=BookingStatus.APPROVED)
    db.session.commit()
    login(client, world.manager_a)
    html = _text(client.get("/manage/bookings/agenda"))
    overdue = html[html.index("awaiting usage entry"):html.index("Approved bookings from")]
    assert f"/manage/bookings/{world.started.id}/usage" in overdue and "Usage not recorded" in overdue
    day4, day6 = local(4, 10), local(6, 14)
    assert html.index(f'id="day-{format_local(day4, "%Y-%m-%d")}"') < html.index(
        f'id="day-{format_local(day6, "%Y-%m-%d")}"')
    assert "Later Client" in html
    # Pending and other labs' bookings are not on the agenda; future ones offer no usage entry.
    assert "XRD of powders" not in html and "Lab B secret purpose" not in html
    assert f"/manage/bookings/{later.id}/usage" not in html


def test_agenda_filters_and_ranges(client, world):
    other = make_instrument(world.lab_a)
    make_booking(other, world.client_user, start=local(4, 14), status=BookingStatus.APPROVED, purpose="Other job")
    db.session.commit()
    login(client, world.manager_a)
    html = _text(client.get(f"/manage/bookings/agenda?instrument={other.id}"))
    assert "Other job" in html and f"/manage/bookings/{world.started.id}/usage" not in html
    # A window that ends before day 4 does not show day 4.
    html = _text(client.get("/manage/bookings/agenda?days=2"))
    assert "Other job" not in html
    for query in ("from=garbage", "from=0001-01-01", "days=-5", "days=abc", "days=100000", "instrument=x"):
        assert client.get(f"/manage/bookings/agenda?{query}").status_code == 200, query


# --- downtime ----------------------------------------------------------------------------------------


def _downtime_url(world) -> str:
    return f"/manage/bookings/instruments/{world.inst_a.id}/downtime"


def test_downtime_list_and_create_in_free_time(client, world):
    login(client, world.manager_a)
    assert "Annual calibration" in _text(client.get(_downtime_url(world)))
    start = local(12, 9)
    response = client.post(_downtime_url(world), data={
        "start": _local_input(start), "end": _local_input(start + timedelta(hours=3)), "reason": "Vacuum pump service"})
    assert response.status_code == 302
    created = db.session.scalar(db.select(Downtime).where(Downtime.reason == "Vacuum pump service"))
    assert created.start_at == start and created.end_at == start + timedelta(hours=3)
    assert created.created_by_id == world.manager_a.id


@pytest.mark.parametrize("start,end,reason,message", [
    ("garbage", "2030-01-01T10:00", "x", "Not a valid datetime value"),
    ("2030-01-01T10:00", "", "x", "This field is required"),
    ("2030-01-01T10:00", "2030-01-01T09:00", "x", "The end must be after the start"),
    ("2030-01-01T10:00", "2030-01-01T10:00", "x", "The end must be after the start"),
    ("0001-01-01T00:00", "2030-01-01T10:00", "x", "between the years 2000 and 2100"),
    ("2030-01-01T10:00", "9999-12-31T23:59", "x", "between the years 2000 and 2100"),
    ("2030-01-01T10:00", "2030-01-01T12:00", "", "This field is required"),
    ("2020-01-01T10:00", "2020-01-01T12:00", "x", "must end in the future"),
    ("2030-01-01T10:00", "2032-01-01T12:00", "x", "at most a year"),
])
def test_bad_downtime_input_is_refused(client, world, start, end, reason, message):
    login(client, world.manager_a)
    before = snapshot()
    response = client.post(_downtime_url(world), data={"start": start, "end": end, "reason": reason})
    assert response.status_code == 422
    assert message in _text(response)
    assert snapshot() == before


def test_downtime_over_bookings_lists_them_then_cancels_them_in_one_step(client, world, mailbox):
    login(client, world.manager_a)
    start, end = local(3, 8), local(4, 18)  # covers the pending (day 3) and the approved (day 4) booking
    form = {"start": _local_input(start), "end": _local_input(end), "reason": "Chiller failure"}
    before = snapshot()
    response = client.post(_downtime_url(world), data=form)
    assert response.status_code == 409
    html = _text(response)
    assert "overlaps 2 booking(s)" in html and "Client Member" in html and "Linyi Coatings Ltd" in html
    assert f'name="confirm_ids" value="{world.pending.id},{world.approved.id}"' in html
    mailbox.deliver()
    assert snapshot() == before and not mailbox
    response = client.post(_downtime_url(world), data={
        **form, "confirm_ids": f"{world.pending.id},{world.approved.id}",
        "cancel_reason": "The chiller broke down; we are sorry."})
    assert response.status_code == 302
    for booking in (world.pending, world.approved):
        assert booking.status == BookingStatus.CANCELLED
        assert booking.cancel_reason == "The chiller broke down; we are sorry."
        assert booking.cancelled_by_id == world.manager_a.id
    assert db.session.scalar(db.select(Downtime).where(Downtime.reason == "Chiller failure"))
    mailbox.wait_for(2)
    to_client = mailbox.to(world.client_user.email)
    assert len(to_client) == 2 and all("cancelled" in m["Subject"] for m in to_client)
    assert "chiller broke down" in mailbox.body(to_client[0])


def test_downtime_confirmation_refused_when_the_bookings_changed(client, world):
    login(client, world.manager_a)
    start, end = local(3, 8), local(4, 18)
    form = {"start": _local_input(start), "end": _local_input(end), "reason": "Chiller failure"}
    # The manager saw only the pending booking; the approved one is in the interval too.
    before = snapshot()
    response = client.post(_downtime_url(world), data={**form, "confirm_ids": str(world.pending.id)})
    assert response.status_code == 409
    assert "changed meanwhile" in _text(response)
    assert f'name="confirm_ids" value="{world.pending.id},{world.approved.id}"' in _text(response)
    assert snapshot() == before


def test_delete_downtime(client, world):
    login(client, world.manager_a)
    downtime_id = world.downtime.id
    url = f"{_downtime_url(world)}/{downtime_id}/delete"
    assert client.post(url).status_code == 302
    assert db.session.get(Downtime, downtime_id) is None
    assert client.post(url).status_code == 404
    # A downtime of another instrument, addressed through mine: 404.
    other = Downtime(instrument=world.inst_b, start_at=local(20, 9), end_at=local(20, 10), reason="B",
                     created_by=world.manager_b)
    db.session.add(other)
    db.session.commit()
    before = snapshot()
    assert client.post(f"{_downtime_url(world)}/{other.id}/delete").status_code == 404
    assert snapshot() == before


# --- qualifications ------------------------------------------------------------------------------------


def _qual_url(world) -> str:
    return f"/manage/bookings/instruments/{world.inst_a.id}/qualifications"


def test_grant_and_revoke_qualifications(client, world):
    trainee = make_user(world.client_user.organisation, name="New Trainee", email="trainee@example.com")
    db.session.commit()
    login(client, world.manager_a)
    assert "Client Member" in _text(client.get(_qual_url(world)))
    response = client.post(_qual_url(world), data={"email": "  Trainee@Example.com ", "note": "Trained 3 May"})
    assert response.status_code == 302
    granted = db.session.scalar(db.select(Qualification).where(Qualification.user_id == trainee.id))
    assert granted.instrument_id == world.inst_a.id and granted.note == "Trained 3 May"
    assert granted.granted_by_id == world.manager_a.id
    granted_id = granted.id
    response = client.post(f"{_qual_url(world)}/{granted_id}/revoke")
    assert response.status_code == 302
    assert db.session.get(Qualification, granted_id) is None


@pytest.mark.parametrize("email,status,message", [
    ("nobody@example.com", 422, "There is no user with this e-mail"),
    ("", 422, "This field is required"),
    ("a\x00b@example.com", 422, "not allowed"),
    ("CLIENT", 409, "already qualified"),
])
def test_bad_grants_are_refused(client, world, email, status, message):
    login(client, world.manager_a)
    before = snapshot()
    if email == "CLIENT":
        email = world.client_user.email
    response = client.post(_qual_url(world), data={"email": email})
    assert response.status_code == status
    assert message in _text(response)
    assert snapshot() == before


def test_revoke_of_another_instruments_qualification_is_404(client, world):
    other = Qualification(user=world.client_user, instrument=world.inst_b, granted_by=world.manager_b)
    db.session.add(other)
    db.session.commit()
    login(client, world.manager_a)
    before = snapshot()
    assert client.post(f"{_qual_url(world)}/{other.id}/revoke").status_code == 404
    assert client.post(f"{_qual_url(world)}/999999/revoke").status_code == 404
    assert snapshot() == before


def test_users_see_their_own_qualifications(client, world):
    login(client, world.client_user)
    html = _text(client.get("/qualifications"))
    assert world.inst_a.name_en in html or world.inst_a.name_zh in html
    assert world.inst_b.name_zh not in html
    client.post("/auth/logout")
    login(client, world.org_admin)
    assert "You have no qualifications yet" in _text(client.get("/qualifications"))
    client.post("/auth/logout")
    assert client.get("/qualifications").status_code == 302


# --- usage and no-shows ----------------------------------------------------------------------------------


def _usage_url(booking) -> str:
    return f"/manage/bookings/{booking.id}/usage"


def test_record_usage(client, world, mailbox):
    login(client, world.manager_a)
    html = _text(client.get(_usage_url(world.started)))
    assert f'value="{_local_input(world.started.start_at)}"' in html
    start = world.started.start_at + timedelta(minutes=10)
    response = client.post(_usage_url(world.started), data={
        "actual_start": _local_input(start), "actual_end": _local_input(start + timedelta(minutes=90)),
        "samples": "3", "note": "Ran fine"})
    assert response.status_code == 302
    booking = world.started
    assert booking.status == BookingStatus.COMPLETED and booking.actual_samples == 3
    assert booking.actual_start_at == start.replace(second=0) and booking.usage_recorded_by_id == world.manager_a.id
    assert booking.events[-1].action == "complete" and booking.events[-1].note == "Ran fine"
    # Recording again: the booking is already completed.
    before = snapshot()
    response = client.post(_usage_url(booking), data={
        "actual_start": _local_input(start), "actual_end": _local_input(start + timedelta(minutes=30)), "samples": "1"})
    assert response.status_code == 409 and "already completed" in _text(response)
    assert snapshot() == before


@pytest.mark.parametrize("field_values,status,message", [
    ({"actual_start": "yesterday"}, 422, "Not a valid datetime value"),
    ({"actual_end": "START-30"}, 422, "The end must be after the start"),
    ({"actual_end": "START+0"}, 422, "The end must be after the start"),
    ({"actual_end": "NOW+120"}, 422, "cannot be in the future"),
    ({"actual_start": "START-3000", "actual_end": "START-2900"}, 422, "near the booked time"),
    ({"samples": "-1"}, 422, "Number must be between 0 and 10000"),
    ({"samples": "many"}, 422, "Not a valid integer value"),
    ({"note": "x" * 2001}, 422, "Field cannot be longer"),
])
def test_bad_usage_input_is_refused(client, world, field_values, status, message):
    start = world.started.start_at
    now = utcnow()

    def resolve(value: str) -> str:
        for name, base in (("START", start), ("NOW", now)):
            if value.startswith(name):
                return _local_input(base + timedelta(minutes=int(value[len(name):])))
        return value

    data = {"actual_start": _local_input(start), "actual_end": _local_input(start + timedelta(hours=1)), "samples": "2"}
    data.update({k: resolve(v) for k, v in field_values.items()})
    login(client, world.manager_a)
    before = snapshot()
    response = client.post(_usage_url(world.started), data=data)
    assert response.status_code == status
    assert message in _text(response)
    assert snapshot() == before


def test_usage_before_the_start_or_of_a_pending_booking_is_refused(client, world):
    login(client, world.manager_a)
    html = _text(client.get(_usage_url(world.approved)))
    assert "once the booking has started" in html and 'name="actual_start"' not in html
    assert "nothing to record" in _text(client.get(_usage_url(world.pending)))
    before = snapshot()
    data = {"actual_start": "2020-01-01T10:00", "actual_end": "2020-01-01T11:00", "samples": "1"}
    response = client.post(_usage_url(world.approved), data=data)
    assert response.status_code == 422 and "once the booking has started" in _text(response)
    response = client.post(_usage_url(world.pending), data=data)
    assert response.status_code == 409 and "already pending" in _text(response)
    assert client.post(f"/manage/bookings/{world.pending.id}/no-show").status_code == 409
    assert client.post(f"/manage/bookings/{world.approved.id}/no-show").status_code == 422
    assert snapshot() == before


def test_no_show(client, world):
    login(client, world.manager_a)
    response = client.post(f"/manage/bookings/{world.started.id}/no-show", data={"note": "Nobody came"})
    assert response.status_code == 302
    assert world.started.status == BookingStatus.NO_SHOW
    assert world.started.events[-1].action == "no_show" and world.started.events[-1].note == "Nobody came"
    before = snapshot()
    response = client.post(f"/manage/bookings/{world.started.id}/no-show")
    assert response.status_code == 409 and "already no-show" in _text(response)
    assert snapshot() == before


def test_unknown_ids_are_404(client, world):
    login(client, world.manager_a)
    for url in ("/manage/bookings/999999/usage", "/manage/bookings/instruments/999999/downtime",
                "/manage/bookings/instruments/999999/qualifications"):
        assert client.get(url).status_code == 404, url
    assert client.post("/manage/bookings/999999/no-show").status_code == 404
