"""Account e-mails, each in its recipient's language. Called by services just before their
commit: the mail is rendered and queued in the outbox (equipshare/notifications) in the same
transaction, and the scheduler's deliver-outbox job sends it after the commit, retrying if the
mail server is down. A password reset cannot be muted; its link is wiped once delivered.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from equipshare.accounts.models import MemberRole, MemberStatus, Organisation, OrgStatus, User
from equipshare.extensions import db
from equipshare.notifications.outbox import queue_template


def absolute_url(endpoint: str, **values) -> str:
    """SERVER_BASE_URL + the route's path. Works without a request (jobs, CLI, tests)."""
    base = current_app.config["SERVER_BASE_URL"].rstrip("/")
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base + path


def _send(to: User | str, kind: str, subject, template: str, *, locale: str | None = None,
          sensitive: bool = False, **context) -> None:
    """Queue emails/<template>.txt and .html, rendered in the recipient's language: a user's
    own (whose mail settings also apply), or ``locale`` for a bare address. ``subject`` is a lazy
    string, translated inside that language."""
    db.session.flush()  # rows created in this transaction get their ids and relationships
    queue_template(to, kind, f"emails/{template}", subject, locale=locale, mutable=not sensitive,
                   sensitive=sensitive, fallback_text=context.get("link") or context.get("login_link", ""), **context)


def send_password_reset(user: User, token: str) -> None:
    _send(
        user, "accounts.password_reset", _l("Reset your EquipShare password"), "accounts_reset", sensitive=True,
        user=user, link=absolute_url("accounts.reset_password", token=token),
        ttl_minutes=current_app.config["PASSWORD_RESET_TTL_MINUTES"],
    )


def send_organisation_decision(org: Organisation) -> None:
    approved = org.status == OrgStatus.APPROVED
    admins = [m for m in org.members if m.org_role == MemberRole.ADMIN and m.member_status == MemberStatus.ACTIVE]
    recipients = [(m, m.name) for m in admins] or [(org.contact_email, org.contact_name)]
    subject = (_l("Your organisation was approved on EquipShare") if approved
               else _l("Your organisation's registration on EquipShare was declined"))
    for to, name in recipients:
        _send(to, "accounts.org_decision", subject, "accounts_org_decision", org=org, name=name, approved=approved,
              login_link=absolute_url("accounts.login"), account_link=absolute_url("accounts.account"))


def send_invitation(invitation, token: str) -> None:
    db.session.flush()  # a new invitation: load its organisation and inviter
    inviter = invitation.invited_by
    _send(
        invitation.email, "accounts.invitation",
        _l("You are invited to join %(org)s on EquipShare", org=invitation.organisation.name), "accounts_invitation",
        locale=inviter.locale,
        invitation=invitation, inviter=inviter, org=invitation.organisation,
        link=absolute_url("accounts.accept_invitation", token=token),
    )


def send_join_decision(member: User, approved: bool) -> None:
    org_name = member.organisation.name
    subject = (_l("Your request to join %(org)s was approved", org=org_name) if approved
               else _l("Your request to join %(org)s was declined", org=org_name))
    _send(member, "accounts.join_decision", subject, "accounts_join_decision", member=member, org=member.organisation,
          approved=approved, login_link=absolute_url("accounts.login"))
