"""Account mails go through the outbox too: queued with the change, muted per topic, except the
password reset, which nobody can switch off and whose link is wiped once delivered."""

from __future__ import annotations

from sqlalchemy import select

from equipshare.accounts import services
from equipshare.accounts.models import OrgStatus
from equipshare.db import utcnow
from equipshare.extensions import db
from equipshare.notifications.models import NotificationMute, OutboxMessage
from equipshare.notifications.topics import TOPICS
from tests.factories import make_admin, make_client_user, make_org, make_user


def test_password_reset_cannot_be_muted_and_its_link_is_wiped_after_delivery(mailbox):
    user = make_client_user(locale="en")
    db.session.add_all(NotificationMute(user_id=user.id, topic=topic) for topic in TOPICS)
    db.session.commit()
    services.request_password_reset(user.email, utcnow())
    row = db.session.scalar(select(OutboxMessage))
    assert row.kind == "accounts.password_reset" and row.sensitive and "/auth/reset/" in row.body_text
    mailbox.wait_for(1)
    assert "/auth/reset/" in mailbox.body(mailbox[0])
    db.session.refresh(row)
    assert row.status == "sent" and "/auth/reset/" not in row.body_text and row.body_html is None


def test_an_unknown_address_queues_nothing():
    services.request_password_reset("nobody@example.com", utcnow())
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_organisation_decisions_respect_the_admins_choice(mailbox):
    org = make_org(status=OrgStatus.PENDING)
    admin_user = make_user(org, org_admin=True, locale="en")
    db.session.add(NotificationMute(user_id=admin_user.id, topic="organisation"))
    db.session.commit()
    services.decide_organisation(make_admin(), org, "approve", None, utcnow())
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_organisation_decision_is_queued_in_the_deciding_transaction(mailbox):
    org = make_org(status=OrgStatus.PENDING)
    admin_user = make_user(org, org_admin=True, locale="en")
    db.session.commit()
    services.decide_organisation(make_admin(), org, "reject", "Credit code does not match the name", utcnow())
    row = db.session.scalar(select(OutboxMessage))
    assert (row.kind, row.to_address, row.status) == ("accounts.org_decision", admin_user.email, "pending")
    mailbox.wait_for(1)
    assert "Credit code does not match the name" in mailbox.body(mailbox[0])


def test_invitation_goes_to_the_address_in_the_inviters_language(mailbox):
    inviter = make_client_user(org_admin=True, locale="en")
    db.session.commit()
    services.invite_member(inviter, inviter.organisation, "new.colleague@example.com", utcnow())
    row = db.session.scalar(select(OutboxMessage))
    assert (row.kind, row.user_id, row.locale) == ("accounts.invitation", None, "en")
    mailbox.wait_for(1)
    assert mailbox[0]["To"] == "new.colleague@example.com" and "/auth/invite/" in mailbox.body(mailbox[0])
