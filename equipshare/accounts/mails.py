"""Account e-mails, each in its recipient's language. Called by services after their commit.

A mail that cannot be delivered is logged, not raised: the change it reports is already
committed, and the person can still see its outcome on the site.
"""

from __future__ import annotations

import smtplib

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from equipshare.accounts.models import MemberRole, MemberStatus, Organisation, OrgStatus, User
from equipshare.mail import send_mail


def absolute_url(endpoint: str, **values) -> str:
    """SERVER_BASE_URL + the route's path. Works without a request (jobs, CLI, tests)."""
    base = current_app.config["SERVER_BASE_URL"].rstrip("/")
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base + path


def _send(to: str, locale: str | None, subject, template: str, **context) -> None:
    """Render emails/<template>.txt and .html in ``locale`` and send them. ``subject`` is a lazy
    string, so that it is translated here, inside force_locale."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject_text = str(subject)
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", subject=subject_text, **context)
    try:
        send_mail(to, subject_text, text, html)
    except (smtplib.SMTPException, OSError):
        current_app.logger.exception("Could not send %s mail to %s", template, to)


def send_password_reset(user: User, token: str) -> None:
    _send(
        user.email, user.locale, _l("Reset your EquipShare password"), "accounts_reset",
        user=user, link=absolute_url("accounts.reset_password", token=token),
        ttl_minutes=current_app.config["PASSWORD_RESET_TTL_MINUTES"],
    )


def send_organisation_decision(org: Organisation) -> None:
    approved = org.status == OrgStatus.APPROVED
    admins = [m for m in org.members if m.org_role == MemberRole.ADMIN and m.member_status == MemberStatus.ACTIVE]
    recipients = [(m.email, m.locale, m.name) for m in admins] or [(org.contact_email, None, org.contact_name)]
    subject = (_l("Your organisation was approved on EquipShare") if approved
               else _l("Your organisation's registration on EquipShare was declined"))
    for email, locale, name in recipients:
        _send(email, locale, subject, "accounts_org_decision", org=org, name=name, approved=approved,
              login_link=absolute_url("accounts.login"), account_link=absolute_url("accounts.account"))


def send_invitation(invitation, token: str) -> None:
    inviter = invitation.invited_by
    _send(
        invitation.email, inviter.locale,
        _l("You are invited to join %(org)s on EquipShare", org=invitation.organisation.name), "accounts_invitation",
        invitation=invitation, inviter=inviter, org=invitation.organisation,
        link=absolute_url("accounts.accept_invitation", token=token),
    )


def send_join_decision(member: User, approved: bool) -> None:
    org_name = member.organisation.name
    subject = (_l("Your request to join %(org)s was approved", org=org_name) if approved
               else _l("Your request to join %(org)s was declined", org=org_name))
    _send(member.email, member.locale, subject, "accounts_join_decision", member=member, org=member.organisation,
          approved=approved, login_link=absolute_url("accounts.login"))
