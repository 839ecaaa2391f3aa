"""Organisations, users and the tokens that belong to them."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from equipshare.db import UTCDateTime, utcnow
from equipshare.extensions import db


class OrgKind(enum.StrEnum):
    ENTERPRISE = "enterprise"  # a firm: has a unified social credit code
    ACADEMIC = "academic"  # a university or institute (possibly one that owns instruments)


class OrgStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class CustomerClass(enum.StrEnum):
    """Selects the rate. Derived per booking: see equipshare.catalogue.services.customer_class_for."""

    INTERNAL = "internal"
    ACADEMIC = "academic"
    ENTERPRISE = "enterprise"


class MemberRole(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


class MemberStatus(enum.StrEnum):
    PENDING = "pending"  # asked to join; the organisation admin decides
    ACTIVE = "active"
    REMOVED = "removed"


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    # 18-character unified social credit code (GB 32100-2015); firms only.
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    # For academic organisations that are (part of) an institution on the platform.
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    # Academic organisations whose institution is not on the platform: its name as typed.
    institution_name: Mapped[str | None] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(40))
    contact_email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default=OrgStatus.PENDING, index=True)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    institution = relationship("Institution", foreign_keys=[institution_id])
    members: Mapped[list[User]] = relationship(
        back_populates="organisation", foreign_keys="User.organisation_id"
    )

    @property
    def is_approved(self) -> bool:
        return self.status == OrgStatus.APPROVED

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r} {self.status}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    org_role: Mapped[str] = mapped_column(String(20), default=MemberRole.MEMBER)
    member_status: Mapped[str] = mapped_column(String(20), default=MemberStatus.ACTIVE)
    # Bumped on password change / logout-everywhere: sessions carrying an old value end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation | None] = relationship(
        back_populates="members", foreign_keys=[organisation_id]
    )
    managed_labs = relationship("Lab", secondary="lab_managers", back_populates="managers")

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_org_admin(self) -> bool:
        return (
            self.organisation_id is not None
            and self.org_role == MemberRole.ADMIN
            and self.member_status == MemberStatus.ACTIVE
        )

    @property
    def is_client(self) -> bool:
        """An active member of an approved organisation: may request bookings."""
        org = self.organisation
        return org is not None and org.is_approved and self.member_status == MemberStatus.ACTIVE

    @property
    def is_lab_manager(self) -> bool:
        return bool(self.managed_labs)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class PasswordResetToken(db.Model):
    """Single-use, expiring. Only the SHA-256 of the token is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Invitation(db.Model):
    """An organisation admin invites someone by e-mail; only the token's hash is stored."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64))
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    invited_by: Mapped[User] = relationship()
