"""Accounts services: registration, organisation approval, membership, passwords.

Plain functions: they take the acting user, the values and ``now`` explicitly, never read the
request, commit once at their end and only then send mail (equipshare.accounts.mails).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from equipshare.accounts import credit_code as credit_codes
from equipshare.accounts import mails
from equipshare.accounts import permissions as perms
from equipshare.accounts.auth import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    hash_password,
    verify_password,
)
from equipshare.accounts.models import (
    Invitation,
    MemberRole,
    MemberStatus,
    Organisation,
    OrgKind,
    OrgStatus,
    PasswordResetToken,
    User,
)
from equipshare.catalogue.models import Institution
from equipshare.db import begin_write
from equipshare.errors import Conflict, Forbidden, RuleViolation
from equipshare.extensions import db

# --- helpers ---------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def new_token() -> tuple[str, str]:
    """(token for the link, its SHA-256 for the database)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _check_password_shape(password: str, field: str = "password") -> None:
    if not PASSWORD_MIN_LENGTH <= len(password or "") <= PASSWORD_MAX_LENGTH:
        raise RuleViolation(
            _l("The password must have %(lo)d to %(hi)d characters.", lo=PASSWORD_MIN_LENGTH, hi=PASSWORD_MAX_LENGTH),
            code="password_length", field=field,
        )


def _email_taken(email: str) -> bool:
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == email)) > 0


def _refuse_taken_email(email: str, field: str = "email") -> None:
    if _email_taken(email):
        raise RuleViolation(_l("An account with this e-mail address already exists."), code="duplicate_email",
                            field=field)


def _commit_unique() -> None:
    """Commit; a unique-constraint race (someone registered the same e-mail or code a moment
    ago) becomes the same friendly error as the check before it."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        text = str(exc.orig).lower()
        if "credit_code" in text:
            raise RuleViolation(_l("An organisation with this credit code is already registered."),
                                code="duplicate_credit_code", field="credit_code") from exc
        raise RuleViolation(_l("An account with this e-mail address already exists."), code="duplicate_email",
                            field="email") from exc


def _lock_organisation(org_id: int) -> Organisation:
    """Serialise membership changes of one organisation (PostgreSQL row lock; SQLite holds the
    database write lock already), so two admins cannot demote each other at once."""
    return db.session.execute(select(Organisation).where(Organisation.id == org_id).with_for_update()).scalar_one()


def _active_admins(org_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(
            User.organisation_id == org_id, User.org_role == MemberRole.ADMIN,
            User.member_status == MemberStatus.ACTIVE,
        )
    )


# --- registration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    org_kind: str
    org_name: str | None
    credit_code: str | None
    institution_id: int | None
    institution_name: str | None
    contact_name: str
    contact_phone: str
    contact_email: str
    name: str
    email: str
    password: str
    locale: str = "zh"


def register_organisation(reg: Registration, now: datetime) -> User:
    """A new organisation (pending approval) with its first user as the organisation's admin."""
    _check_password_shape(reg.password)
    password_hash = hash_password(reg.password)
    begin_write(db.session)
    email = normalise_email(reg.email)
    _refuse_taken_email(email)
    institution = None
    institution_name = None
    code = None
    if reg.org_kind == OrgKind.ENTERPRISE:
        code = credit_codes.normalise(reg.credit_code or "")
        if not credit_codes.is_valid(code):
            raise RuleViolation(_l("This is not a valid unified social credit code."), code="invalid_credit_code",
                                field="credit_code")
        if db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code)) is not None:
            raise RuleViolation(
                _l("An organisation with this credit code is already registered. Ask its administrator to "
                   "invite you, or ask to join it."),
                code="duplicate_credit_code", field="credit_code",
            )
        org_name = (reg.org_name or "").strip()
        if not org_name:
            raise RuleViolation(_l("Enter the registered name of the firm."), code="name_required", field="org_name")
    elif reg.org_kind == OrgKind.ACADEMIC:
        if reg.institution_id:
            institution = db.session.get(Institution, reg.institution_id)
            if institution is None:
                raise RuleViolation(_l("Choose an institution from the list."), code="unknown_institution",
                                    field="institution_id")
        else:
            institution_name = (reg.institution_name or "").strip() or None
            if institution_name is None:
                raise RuleViolation(_l("Choose your institution or type its name."), code="institution_required",
                                    field="institution_name")
        org_name = (reg.org_name or "").strip() or (institution.name_zh if institution else institution_name)
    else:
        raise RuleViolation(_l("Choose the type of organisation."), code="invalid_kind", field="org_kind")

    org = Organisation(
        name=org_name, kind=reg.org_kind, credit_code=code, institution=institution,
        institution_name=institution_name, contact_name=reg.contact_name, contact_phone=reg.contact_phone,
        contact_email=normalise_email(reg.contact_email), status=OrgStatus.PENDING, created_at=now,
    )
    user = User(
        email=email, name=reg.name, password_hash=password_hash, locale=reg.locale, organisation=org,
        org_role=MemberRole.ADMIN, member_status=MemberStatus.ACTIVE, created_at=now,
    )
    db.session.add_all([org, user])
    _commit_unique()
    return user


def request_to_join(credit_code: str, name: str, phone: str | None, email: str, password: str, locale: str,
                    now: datetime) -> User:
    """A person asks to join a registered organisation; its admin decides."""
    _check_password_shape(password)
    password_hash = hash_password(password)
    begin_write(db.session)
    email = normalise_email(email)
    _refuse_taken_email(email)
    code = credit_codes.normalise(credit_code or "")
    org = db.session.scalar(select(Organisation).where(Organisation.credit_code == code))
    if org is None or org.status == OrgStatus.REJECTED:
        raise RuleViolation(_l("No organisation with this credit code is registered on the platform."),
                            code="unknown_organisation", field="credit_code")
    user = User(email=email, name=name, phone=phone or None, password_hash=password_hash, locale=locale,
                organisation=org, org_role=MemberRole.MEMBER, member_status=MemberStatus.PENDING, created_at=now)
    db.session.add(user)
    _commit_unique()
    return user


# --- organisation approval (platform admin) -------------------------------------------------


def decide_organisation(actor: User, org: Organisation, decision: str, reason: str | None,
                        now: datetime) -> Organisation:
    if not perms.can_list_organisations(actor):
        raise Forbidden(_l("Only platform administrators decide on organisations."))
    reason = (reason or "").strip() or None
    if decision not in ("approve", "reject"):
        raise RuleViolation(_l("Choose approve or reject."), code="invalid_decision", field="decision")
    if decision == "reject" and not reason:
        raise RuleViolation(_l("Give a reason for the rejection; the applicant will see it."),
                            code="reason_required", field="reason")
    begin_write(db.session)
    org = _lock_organisation(org.id)
    new_status = OrgStatus.APPROVED if decision == "approve" else OrgStatus.REJECTED
    allowed = {OrgStatus.PENDING: {OrgStatus.APPROVED, OrgStatus.REJECTED}, OrgStatus.REJECTED: {OrgStatus.APPROVED}}
    if new_status not in allowed.get(org.status, set()):
        raise Conflict(_l("This organisation has already been decided."), code="already_decided")
    org.status = new_status
    org.decision_reason = reason
    org.decided_at = now
    org.decided_by_id = actor.id
    mails.send_organisation_decision(org)  # queued in this transaction (outbox)
    db.session.commit()
    return org


# --- members (organisation admin) ------------------------------------------------------------


def _require_manager(actor: User, org: Organisation) -> None:
    if not perms.can_manage_org_members(actor, org):
        raise Forbidden(_l("Only this organisation's administrators manage its members."))


def invite_member(actor: User, org: Organisation, email: str, now: datetime) -> Invitation:
    _require_manager(actor, org)
    begin_write(db.session)
    email = normalise_email(email)
    _refuse_taken_email(email)
    for old in db.session.scalars(select(Invitation).where(
            Invitation.organisation_id == org.id, Invitation.email == email,
            Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))):
        old.revoked_at = now  # one live link per address
    token, digest = new_token()
    ttl = timedelta(days=current_app.config["INVITATION_TTL_DAYS"])
    invitation = Invitation(organisation_id=org.id, email=email, token_hash=digest, invited_by_id=actor.id,
                            created_at=now, expires_at=now + ttl)
    db.session.add(invitation)
    mails.send_invitation(invitation, token)  # queued in this transaction (outbox)
    db.session.commit()
    return invitation


def revoke_invitation(actor: User, invitation: Invitation, now: datetime) -> None:
    _require_manager(actor, invitation.organisation)
    begin_write(db.session)
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = now
    db.session.commit()


def find_invitation(token: str, now: datetime) -> Invitation | None:
    """The invitation behind a link, if it can still be used."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))
    if (invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None
            or invitation.expires_at <= now or invitation.organisation.status == OrgStatus.REJECTED):
        return None
    return invitation


_TOKEN_INVALID = _l("This link is invalid, has expired or has already been used.")


def accept_invitation(token: str, name: str, password: str, now: datetime) -> User:
    _check_password_shape(password)
    password_hash = hash_password(password)
    begin_write(db.session)
    invitation = find_invitation(token, now)
    if invitation is not None:
        invitation = db.session.execute(
            select(Invitation).where(Invitation.id == invitation.id).with_for_update()).scalar_one()
    if invitation is None or invitation.accepted_at is not None:
        raise RuleViolation(_TOKEN_INVALID, code="token_invalid")
    _refuse_taken_email(invitation.email)
    user = User(email=invitation.email, name=name, password_hash=password_hash,
                locale=invitation.invited_by.locale, organisation_id=invitation.organisation_id,
                org_role=MemberRole.MEMBER, member_status=MemberStatus.ACTIVE, created_at=now)
    invitation.accepted_at = now
    db.session.add(user)
    _commit_unique()
    return user


def decide_join_request(actor: User, member: User, approve: bool, now: datetime) -> User:
    begin_write(db.session)
    _lock_organisation(member.organisation_id)
    if not perms.can_decide_join_request(actor, member):
        raise Forbidden(_l("You cannot decide on this request."))
    member.member_status = MemberStatus.ACTIVE if approve else MemberStatus.REMOVED
    mails.send_join_decision(member, approve)  # queued in this transaction (outbox)
    db.session.commit()
    return member


def remove_member(actor: User, member: User, now: datetime) -> User:
    begin_write(db.session)
    _lock_organisation(member.organisation_id)
    if not perms.can_manage_org_members(actor, member.organisation) or member.member_status != MemberStatus.ACTIVE:
        raise Forbidden(_l("You cannot remove this member."))
    if member.org_role == MemberRole.ADMIN and _active_admins(member.organisation_id) <= 1:
        raise RuleViolation(_l("An organisation needs at least one administrator. Make someone else "
                               "administrator first."), code="last_admin")
    member.member_status = MemberStatus.REMOVED
    member.org_role = MemberRole.MEMBER
    db.session.commit()
    return member


def set_member_role(actor: User, member: User, role: str, now: datetime) -> User:
    if role not in (MemberRole.ADMIN, MemberRole.MEMBER):
        raise RuleViolation(_l("Unknown role."), code="invalid_role", field="role")
    begin_write(db.session)
    _lock_organisation(member.organisation_id)
    if not perms.can_manage_org_members(actor, member.organisation) or member.member_status != MemberStatus.ACTIVE:
        raise Forbidden(_l("You cannot change this member's role."))
    if (role == MemberRole.MEMBER and member.org_role == MemberRole.ADMIN
            and _active_admins(member.organisation_id) <= 1):
        raise RuleViolation(_l("An organisation needs at least one administrator."), code="last_admin")
    member.org_role = role
    db.session.commit()
    return member


# --- logging in and passwords ----------------------------------------------------------------


def authenticate(email: str, password: str, now: datetime) -> User | None:
    """The user if the e-mail and password match an active account, else None (and the same
    work is done either way, so timing does not tell whether the address exists)."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        verify_password(_dummy_hash(), password or "")
        return None
    if not verify_password(user.password_hash, password or "") or not user.active:
        return None
    user_id = user.id
    begin_write(db.session)
    user = db.session.get(User, user_id)
    user.last_login_at = now
    db.session.commit()
    return user


def update_account(user: User, name: str, phone: str | None, locale: str, now: datetime) -> User:
    if locale not in current_app.config["LANGUAGES"]:
        raise RuleViolation(_l("Unknown language."), code="invalid_locale", field="locale")
    begin_write(db.session)
    user.name = name
    user.phone = phone or None
    user.locale = locale
    db.session.commit()
    return user


def set_locale(user: User, locale: str) -> None:
    """The language switch of a logged-in user: remembered for their mails and next visits."""
    if locale not in current_app.config["LANGUAGES"]:
        raise RuleViolation(_l("Unknown language."), code="invalid_locale", field="locale")
    begin_write(db.session)
    user.locale = locale
    db.session.commit()


def change_password(user: User, current_password: str, new_password: str, now: datetime) -> User:
    """Ends the user's other sessions (session_version); the caller logs the current one in again."""
    if not verify_password(user.password_hash, current_password or ""):
        raise RuleViolation(_l("The current password is wrong."), code="wrong_password", field="current_password")
    _check_password_shape(new_password)
    password_hash = hash_password(new_password)
    begin_write(db.session)
    user.password_hash = password_hash
    user.session_version = (user.session_version or 0) + 1
    db.session.commit()
    return user


def request_password_reset(email: str, now: datetime) -> None:
    """Mail a single-use link if the address belongs to an active account; otherwise do nothing
    (the caller shows the same message either way)."""
    begin_write(db.session)
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active:
        db.session.rollback()
        return
    token, digest = new_token()
    ttl = timedelta(minutes=current_app.config["PASSWORD_RESET_TTL_MINUTES"])
    db.session.add(PasswordResetToken(user_id=user.id, token_hash=digest, created_at=now, expires_at=now + ttl))
    mails.send_password_reset(user, token)  # queued in this transaction (outbox)
    db.session.commit()


def _usable(record: PasswordResetToken | None, now: datetime) -> bool:
    return record is not None and record.used_at is None and record.expires_at > now and record.user.active


def find_reset_token(token: str, now: datetime) -> PasswordResetToken | None:
    record = db.session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token)))
    return record if _usable(record, now) else None


def reset_password(token: str, new_password: str, now: datetime) -> User:
    _check_password_shape(new_password)
    password_hash = hash_password(new_password)
    begin_write(db.session)
    record = db.session.execute(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token)).with_for_update()
    ).scalar_one_or_none()
    if not _usable(record, now):
        raise RuleViolation(_TOKEN_INVALID, code="token_invalid")
    user = record.user
    user.password_hash = password_hash
    user.session_version = (user.session_version or 0) + 1
    # This link and any other outstanding link of the user are spent.
    for other in db.session.scalars(select(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))):
        other.used_at = now
    db.session.commit()
    return user
