"""The outbox: written with the business change, delivered after it, at most once, retried,
never lost; faults are recorded on the row and never undo the business action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from equipshare.booking import services
from equipshare.db import utcnow
from equipshare.errors import Conflict
from equipshare.extensions import db
from equipshare.notifications import outbox, sender
from equipshare.notifications.models import OutboxMessage, OutboxStatus
from tests.factories import make_client_user
from tests.notifications.conftest import MONDAY_10, NOW, req


def rows(**filters) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)))


def test_a_request_queues_the_mail_in_its_transaction_and_sends_nothing_itself(world, mailbox):
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    [row] = rows()
    assert (row.kind, row.to_address, row.status, row.user_id) == (
        "booking.requested", world.manager.email, "pending", world.manager.id)
    assert f"#{booking.id}" in row.subject and "X-ray diffractometer" in row.subject
    assert not mailbox  # nothing went to SMTP during the business call

    assert sender.deliver_due(utcnow()) == {"sent": 1}
    mailbox.wait_for(1)
    assert mailbox[0]["Message-ID"] == row.message_id
    assert rows()[0].status == "sent" and rows()[0].attempts == 1


def test_a_refused_business_change_leaves_no_mail_behind(world, mailbox):
    services.request_booking(world.client, world.instrument.id, req(), NOW)
    other = make_client_user()
    db.session.commit()
    with pytest.raises(Conflict):
        services.request_booking(other, world.instrument.id, req(start=MONDAY_10 + timedelta(minutes=30)), NOW)
    assert len(rows()) == 1  # only the first request's mail


def test_an_overlap_caught_by_the_database_at_flush_is_still_a_friendly_conflict(world, monkeypatch):
    """The outbox needs the booking's id, so the flush happens before the commit: an overlap
    the database refuses there must still become Conflict(slot_taken), with nothing queued."""
    services.request_booking(world.client, world.instrument.id, req(), NOW)
    monkeypatch.setattr(services, "slot_state", lambda *a, **k: (0, None))  # skip the friendly pre-check
    other = make_client_user()
    db.session.commit()
    with pytest.raises(Conflict) as err:
        services.request_booking(other, world.instrument.id, req(start=MONDAY_10 + timedelta(minutes=30)), NOW)
    assert err.value.code == "slot_taken"
    assert len(rows()) == 1


def test_a_row_is_sent_once_even_if_delivery_runs_again_or_two_senders_race(world, mailbox):
    services.request_booking(world.client, world.instrument.id, req(), NOW)
    [row] = rows()
    first = sender.claim(row.id, utcnow())
    assert first is not None and first.status == "sending" and first.attempts == 1
    assert sender.claim(row.id, utcnow()) is None  # the second sender loses the claim
    assert sender.deliver_one(row.id, utcnow()) == "skipped"
    assert sender.deliver_due(utcnow() + timedelta(minutes=1)) == {}
    assert not mailbox


def test_server_down_is_retried_with_back_off_and_delivered_when_it_is_back(world, switchable_smtp, app):
    services.request_booking(world.client, world.instrument.id, req(), NOW)
    now = utcnow()
    assert sender.deliver_due(now) == {"retry": 1}  # nobody listens on the port
    [row] = rows()
    assert row.status == "pending" and row.attempts == 1 and "attempt 1" in row.last_error
    assert row.next_attempt_at == now + timedelta(seconds=app.config["OUTBOX_RETRY_SECONDS"])

    assert sender.deliver_due(now + timedelta(seconds=5)) == {}  # not due yet: back-off
    second = row.next_attempt_at
    assert sender.deliver_due(second) == {"retry": 1}
    assert rows()[0].next_attempt_at == second + 2 * timedelta(seconds=app.config["OUTBOX_RETRY_SECONDS"])

    switchable_smtp.start()
    assert sender.deliver_due(rows()[0].next_attempt_at) == {"sent": 1}
    switchable_smtp.mailbox.wait_for(1)
    assert len(switchable_smtp.mailbox) == 1
    row = rows()[0]
    assert row.status == "sent" and row.attempts == 3 and row.last_error is None


def test_after_the_last_attempt_the_mail_fails_and_waits_for_an_admin(world, switchable_smtp, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 2)
    services.request_booking(world.client, world.instrument.id, req(), NOW)
    later = utcnow() + timedelta(days=1)
    assert sender.deliver_due(later) == {"retry": 1}
    assert sender.deliver_due(later + timedelta(hours=1)) == {"failed": 1}
    assert rows()[0].status == "failed"
    assert sender.deliver_due(later + timedelta(days=1)) == {}


def test_a_malformed_address_fails_the_mail_not_the_business_action(world, mailbox):
    world.manager.email = "not an address@@example"
    db.session.commit()
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    assert booking.status == "pending"
    assert sender.deliver_due(utcnow()) == {"failed": 1}
    row = rows()[0]
    assert row.status == "failed" and row.attempts == 1 and "malformed recipient address" in row.last_error
    assert not mailbox


def test_a_header_injection_attempt_never_reaches_smtp(app, mailbox):
    outbox.queue_mail("victim@example.com\nBcc: all@example.com", "test.kind", "Hi", "Body")
    db.session.commit()
    assert sender.deliver_due(utcnow()) == {"failed": 1}
    assert not mailbox


def test_a_claim_that_never_finished_becomes_uncertain_and_is_not_resent(world, mailbox, app):
    services.request_booking(world.client, world.instrument.id, req(), NOW)
    [row] = rows()
    start = utcnow()
    sender.claim(row.id, start)  # the sender "crashes" here, before or after SMTP: we cannot know
    assert sender.deliver_due(start + timedelta(seconds=60)) == {}
    assert rows()[0].status == "sending"
    timeout = timedelta(seconds=app.config["OUTBOX_SENDING_TIMEOUT_SECONDS"] + 1)
    assert sender.deliver_due(start + timeout) == {"uncertain": 1}
    assert rows()[0].status == "unknown" and "not re-sent automatically" in rows()[0].last_error
    assert sender.deliver_due(start + 10 * timeout) == {}
    assert not mailbox


def test_sensitive_bodies_are_wiped_once_delivered(app, mailbox):
    outbox.queue_mail("someone@example.com", "accounts.password_reset", "Reset", "secret link /reset/abc",
                      "<a href='/reset/abc'>reset</a>", mutable=False, sensitive=True)
    db.session.commit()
    sender.deliver_due(utcnow())
    mailbox.wait_for(1)
    assert "/reset/abc" in mailbox.body(mailbox[0])
    row = rows()[0]
    assert row.status == "sent" and "/reset/abc" not in row.body_text and row.body_html is None


def test_a_template_error_in_one_language_falls_back_to_the_other_and_is_recorded(world, monkeypatch, mailbox):
    from flask_babel import get_locale

    import equipshare.notifications.render as render

    real = render._render

    def broken_in_chinese(name, /, **context):
        if str(get_locale()) == "zh":
            raise RuntimeError("zh catalogue broken")
        return real(name, **context)

    monkeypatch.setattr(render, "_render", broken_in_chinese)
    world.manager.locale = "zh"
    db.session.commit()
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    assert booking.status == "pending"
    row = rows()[0]
    assert row.locale == "en" and "zh: RuntimeError: zh catalogue broken" in row.render_error
    assert 'lang="en"' in row.body_html and "waiting for your decision" in row.body_text
    mailbox.wait_for(1)


def test_when_every_language_fails_a_plain_mail_with_the_link_still_goes_out(world, monkeypatch, mailbox):
    import equipshare.notifications.render as render

    def broken(name, /, **context):
        raise ValueError("template gone")

    monkeypatch.setattr(render, "_render", broken)
    booking = services.request_booking(world.client, world.instrument.id, req(), NOW)
    row = rows()[0]
    assert row.body_html is None and f"/bookings/{booking.id}" in row.body_text
    assert row.render_error.count("ValueError") == 2
    mailbox.wait_for(1)
    assert f"#{booking.id}" in mailbox[0]["Subject"]


def test_outbox_rows_can_be_pruned_after_the_retention_period(app, mailbox):
    outbox.queue_mail("a@example.com", "test.kind", "Old", "Body")
    db.session.commit()
    sender.deliver_due(utcnow())
    assert sender.prune_outbox(utcnow()) == 0
    assert sender.prune_outbox(utcnow() + timedelta(days=app.config["OUTBOX_KEEP_DAYS"] + 1)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_queue_mail_to_a_user_honours_mutes_unless_unmutable(world):
    from equipshare.notifications.models import NotificationMute

    db.session.add(NotificationMute(user_id=world.client.id, topic="reminders"))
    db.session.commit()
    assert outbox.queue_mail(world.client, "booking.reminder", "s", "t") is None
    assert outbox.queue_mail(world.client, "booking.reminder", "s", "t", mutable=False) is not None
    assert outbox.queue_mail(world.client, "accounts.password_reset", "s", "t") is not None  # no topic
    db.session.commit()
    assert [r.status for r in rows()] == [OutboxStatus.PENDING] * 2
