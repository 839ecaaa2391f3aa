"""The preferences page, muting an instrument, and the admins' delivery and job pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from equipshare.booking import services
from equipshare.db import utcnow
from equipshare.extensions import db
from equipshare.notifications import outbox, sender
from equipshare.notifications.models import InstrumentMute, NotificationMute, OutboxMessage
from tests.factories import login, make_admin, make_client_user, make_instrument
from tests.notifications.conftest import NOW, req

PREFS = "/account/notifications"


def muted_topics(user) -> set[str]:
    return set(db.session.scalars(select(NotificationMute.topic).where(NotificationMute.user_id == user.id)))


def muted_instruments(user) -> set[int]:
    return set(db.session.scalars(select(InstrumentMute.instrument_id).where(InstrumentMute.user_id == user.id)))


def checked(page: str, value: str) -> bool:
    [tag] = re.findall(rf'<input[^>]*value="{value}"[^>]*>', page)
    return " checked" in tag


def test_preferences_need_a_login(client):
    response = client.get(PREFS)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_client_sees_its_topics_but_not_the_managers_and_saves_a_choice(client, world):
    login(client, world.client)
    page = client.get(PREFS).get_data(as_text=True)
    assert "Reminders" in page and "password reset links, are always sent" in page
    assert "New booking requests" not in page and "Instruments you manage" not in page
    response = client.post(PREFS, data={"topics": ["decisions", "cancellations", "changes", "organisation"]})
    assert response.status_code == 302
    # new_requests was not shown (and was wanted): it keeps its setting; only reminders are muted
    assert muted_topics(world.client) == {"reminders"}
    page = client.get(PREFS).get_data(as_text=True)
    assert not checked(page, "reminders") and checked(page, "decisions")


def test_a_manager_mutes_an_instrument_on_the_page(client, world):
    login(client, world.manager)
    page = client.get(PREFS).get_data(as_text=True)
    assert "New booking requests" in page and "X-ray diffractometer" in page
    topics = ["new_requests", "decisions", "cancellations", "changes", "reminders", "organisation"]
    response = client.post(PREFS, data={"topics": topics, "muted_instruments": [str(world.instrument.id)]})
    assert response.status_code == 302
    assert muted_instruments(world.manager) == {world.instrument.id} and muted_topics(world.manager) == set()
    services.request_booking(world.client, world.instrument.id, req(), NOW)
    assert db.session.scalar(select(OutboxMessage.id)) is None


@pytest.mark.parametrize("data", [
    {"topics": ["nonsense"]},
    {"muted_instruments": ["abc"]},
    {"muted_instruments": ["999999"]},
])
def test_bad_preference_input_is_refused_and_writes_nothing(client, world, data):
    login(client, world.manager)
    response = client.post(PREFS, data=data)
    assert response.status_code == 422
    assert muted_topics(world.manager) == set() and muted_instruments(world.manager) == set()


def test_an_instrument_someone_else_manages_cannot_be_muted(client, world):
    other = make_instrument()
    db.session.commit()
    login(client, world.manager)
    response = client.post(f"{PREFS}/instruments/{other.id}/mute", data={"muted": "1"})
    assert response.status_code == 403
    response = client.post(PREFS, data={"topics": [], "muted_instruments": [str(other.id)]})
    assert response.status_code == 422 and muted_instruments(world.manager) == set()
    login(client, world.client)
    assert client.post(f"{PREFS}/instruments/{world.instrument.id}/mute", data={"muted": "1"}).status_code == 403
    assert client.post(f"{PREFS}/instruments/999999/mute", data={"muted": "1"}).status_code == 404


def test_the_mute_button_toggles_and_returns_only_to_local_pages(client, world):
    login(client, world.manager)
    url = f"{PREFS}/instruments/{world.instrument.id}/mute"
    response = client.post(url, data={"muted": "1", "next": "/manage/instruments"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/manage/instruments")
    assert muted_instruments(world.manager) == {world.instrument.id}
    response = client.post(url, data={"muted": "0", "next": "https://evil.example/"})
    assert response.headers["Location"].endswith(PREFS)
    assert muted_instruments(world.manager) == set()
    assert client.post(url, data={"muted": "maybe"}).status_code == 400
    assert client.post(url, data={"muted": "1"}, no_csrf=True).status_code == 400


def test_mute_macro_renders_for_a_manager(app, world, client):
    login(client, world.manager)
    with app.test_request_context("/manage/instruments"):
        from flask import render_template_string
        from flask_login import login_user

        login_user(world.manager)
        html = render_template_string('{% import "notifications/_mute.html" as n with context %}{{ n.mute_button(i) }}',
                                      i=world.instrument)
    assert f"/instruments/{world.instrument.id}/mute" in html and "Mute e-mails" in html


def _failed_mail(address="broken@@example") -> OutboxMessage:
    message = outbox.queue_mail(address, "test.kind", "Subject here", "Body")
    db.session.commit()
    sender.deliver_due(utcnow())
    return message


@pytest.mark.parametrize("url", ["/admin/outbox", "/admin/jobs"])
def test_admin_pages_are_for_platform_admins_only(client, world, url):
    assert client.get(url).status_code == 302
    login(client, world.manager)
    assert client.get(url).status_code == 403


def test_admin_sees_failed_deliveries_and_retries_one(client, mailbox):
    message = _failed_mail()
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "broken@@example" in page and "malformed recipient address" in page and "Retry" in page
    # The cause gets fixed (here, directly in the row), then the admin retries: it goes out.
    message.to_address = "fixed@example.com"
    db.session.commit()
    response = client.post(f"/admin/outbox/{message.id}/retry")
    assert response.status_code == 302
    db.session.refresh(message)
    assert message.status == "pending" and message.attempts == 0
    mailbox.wait_for(1)
    assert mailbox[0]["Message-ID"] == message.message_id
    assert client.post(f"/admin/outbox/{message.id}/retry").status_code == 302  # already sent: a flashed conflict
    db.session.refresh(message)
    assert message.status == "sent"
    assert client.post("/admin/outbox/999999/retry").status_code == 404


def test_admin_dismisses_a_mail(client):
    message = _failed_mail()
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    assert client.post(f"/admin/outbox/{message.id}/dismiss").status_code == 302
    db.session.refresh(message)
    assert message.status == "dismissed"
    assert "Nothing here." in client.get("/admin/outbox").get_data(as_text=True)
    assert "Subject here" in client.get("/admin/outbox?show=all").get_data(as_text=True)
    assert client.get("/admin/outbox?show=bogus&page=x").status_code == 200


def test_the_jobs_page_lists_every_job_with_last_and_next_run(client):
    from equipshare.jobs import JOBS, run_job_now

    run_job_now("send-reminders")
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    page = client.get("/admin/jobs").get_data(as_text=True)
    for job in JOBS:
        assert job.name in page
    assert "Succeeded" in page and "Never run" in page and "Due now" in page
    assert "The scheduler seems to be stopped." in page  # run-job is not the scheduler


def test_the_account_menu_links_to_the_preferences(client):
    user = make_client_user()
    db.session.commit()
    login(client, user)
    assert PREFS in client.get("/account/notifications").get_data(as_text=True)
    assert f'href="{PREFS}"' in client.get("/").get_data(as_text=True)


def test_retry_of_an_uncertain_mail_keeps_its_message_id(client, world, mailbox, app):
    services.request_booking(world.client, world.instrument.id, req(), NOW)
    message = db.session.scalar(select(OutboxMessage))
    start = utcnow()
    sender.claim(message.id, start)
    sender.deliver_due(start + timedelta(seconds=app.config["OUTBOX_SENDING_TIMEOUT_SECONDS"] + 1))
    db.session.refresh(message)
    assert message.status == "unknown"
    admin = make_admin(locale="en")
    db.session.commit()
    login(client, admin)
    assert "Uncertain" in client.get("/admin/outbox?show=unknown").get_data(as_text=True)
    client.post(f"/admin/outbox/{message.id}/retry")
    mailbox.wait_for(1)
    assert mailbox[0]["Message-ID"] == message.message_id
