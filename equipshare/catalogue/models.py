"""Institutions, labs, categories, instruments and their rate cards."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from equipshare.db import UTCDateTime, utcnow
from equipshare.extensions import db


class InstitutionKind(enum.StrEnum):
    UNIVERSITY = "university"
    INSTITUTE = "institute"
    COLLEGE = "college"


class InstrumentStatus(enum.StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


class BookingMode(enum.StrEnum):
    SELF = "self"  # the user operates it after training (needs a qualification)
    SERVICE = "service"  # lab staff run the user's samples


lab_managers = Table(
    "lab_managers",
    db.Model.metadata,
    Column("lab_id", ForeignKey("labs.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Institution(db.Model):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default=InstitutionKind.UNIVERSITY)
    city: Mapped[str] = mapped_column(String(100), default="临沂")
    address: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)

    labs: Mapped[list[Lab]] = relationship(back_populates="institution", order_by="Lab.name_zh")


class Lab(db.Model):
    __tablename__ = "labs"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    description: Mapped[str | None] = mapped_column(Text)

    institution: Mapped[Institution] = relationship(back_populates="labs")
    instruments: Mapped[list[Instrument]] = relationship(back_populates="lab")
    managers = relationship("User", secondary=lab_managers, back_populates="managed_labs")


class Category(db.Model):
    """One level of the national classification of research instruments."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Instrument(db.Model):
    __tablename__ = "instruments"
    __table_args__ = (
        CheckConstraint("slot_minutes > 0 AND slot_minutes <= 1440", name="slot_minutes_range"),
        CheckConstraint("min_duration_minutes > 0", name="min_duration_positive"),
        CheckConstraint("max_duration_minutes >= min_duration_minutes AND max_duration_minutes <= 10080",
                        name="duration_bounds"),
        CheckConstraint("open_minute >= 0 AND close_minute <= 1440 AND open_minute < close_minute",
                        name="opening_hours_valid"),
        # Billing policy (equipshare.billing): see equipshare/billing/rules.py
        CheckConstraint("billing_mode IN ('actual', 'max_booked_actual')", name="billing_mode_known"),
        CheckConstraint("billing_increment_minutes >= 1 AND billing_increment_minutes <= 1440",
                        name="billing_increment_range"),
        CheckConstraint("late_cancel_fee_percent >= 0 AND late_cancel_fee_percent <= 100 "
                        "AND no_show_fee_percent >= 0 AND no_show_fee_percent <= 100", name="fee_percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    manufacturer: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(300))
    description_zh: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    # One "name: value" per line; rendered as a table.
    specs: Mapped[str | None] = mapped_column(Text)
    photo_filename: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=InstrumentStatus.ACTIVE, index=True)
    booking_mode: Mapped[str] = mapped_column(String(20), default=BookingMode.SERVICE)

    # Booking rules (times are local, Asia/Shanghai)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    min_duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    max_duration_minutes: Mapped[int] = mapped_column(Integer, default=480)
    min_notice_hours: Mapped[int] = mapped_column(Integer, default=24)
    horizon_days: Mapped[int] = mapped_column(Integer, default=60)
    open_minute: Mapped[int] = mapped_column(Integer, default=8 * 60)  # minutes after local midnight
    close_minute: Mapped[int] = mapped_column(Integer, default=18 * 60)
    open_weekdays: Mapped[str] = mapped_column(String(7), default="12345")  # ISO weekdays, 1 = Monday
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=True)
    late_cancel_hours: Mapped[int] = mapped_column(Integer, default=24)
    max_open_requests_per_org: Mapped[int] = mapped_column(Integer, default=3)

    # Billing policy: billable time is the actual usage, or the larger of booked and actual time,
    # rounded up to the increment; late cancellations and no-shows pay a percentage of the quote.
    billing_mode: Mapped[str] = mapped_column(String(20), default="actual", server_default="actual")
    billing_increment_minutes: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    late_cancel_fee_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    no_show_fee_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lab: Mapped[Lab] = relationship(back_populates="instruments")
    category: Mapped[Category] = relationship()
    rate_cards: Mapped[list[RateCard]] = relationship(
        back_populates="instrument", cascade="all, delete-orphan", order_by="RateCard.customer_class"
    )

    def rate_for(self, customer_class: str) -> RateCard | None:
        return next((r for r in self.rate_cards if r.customer_class == customer_class), None)


class RateCard(db.Model):
    """Fees for one instrument and one customer class, in fen."""

    __tablename__ = "rate_cards"
    __table_args__ = (
        UniqueConstraint("instrument_id", "customer_class"),
        CheckConstraint(
            "hourly_rate_fen >= 0 AND per_sample_fen >= 0 AND setup_fee_fen >= 0 AND minimum_charge_fen >= 0",
            name="fees_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"))
    customer_class: Mapped[str] = mapped_column(String(20))
    hourly_rate_fen: Mapped[int] = mapped_column(Integer, default=0)
    per_sample_fen: Mapped[int] = mapped_column(Integer, default=0)
    setup_fee_fen: Mapped[int] = mapped_column(Integer, default=0)
    minimum_charge_fen: Mapped[int] = mapped_column(Integer, default=0)

    instrument: Mapped[Instrument] = relationship(back_populates="rate_cards")
