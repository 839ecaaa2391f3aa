"""Charges, statements and innovation vouchers. Money is integer fen (BIGINT: a week on an
instrument at the highest allowed rates exceeds a 32-bit column).

Database guarantees (see the migrations): one charge per booking and kind (a partial unique
index: corrections are ``adjustment`` charges and may be many); one statement per organisation
and month; gap-free numbers per year; issued statements, their lines and billed charges cannot
be updated or deleted (triggers); ledger rows and charge events are append-only (triggers); a
grant's used amount stays within 0 … amount (CHECK).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from equipshare.db import UTCDateTime, utcnow
from equipshare.extensions import db


class ChargeKind(enum.StrEnum):
    USAGE = "usage"
    LATE_CANCEL = "late_cancel"
    NO_SHOW = "no_show"
    ADJUSTMENT = "adjustment"  # a correction of a charge that is already on an issued statement


class ChargeStatus(enum.StrEnum):
    OPEN = "open"  # may be adjusted; goes on the next statement
    BILLED = "billed"  # on an issued statement: frozen


class BillingMode(enum.StrEnum):
    ACTUAL = "actual"
    MAX_BOOKED_ACTUAL = "max_booked_actual"


class Charge(db.Model):
    __tablename__ = "charges"
    __table_args__ = (
        CheckConstraint("kind IN ('usage', 'late_cancel', 'no_show', 'adjustment')", name="kind_known"),
        CheckConstraint("status IN ('open', 'billed')", name="status_known"),
        CheckConstraint("(status = 'billed') = (statement_id IS NOT NULL)", name="billed_iff_on_statement"),
        CheckConstraint("(kind = 'adjustment') = (corrects_charge_id IS NOT NULL)", name="adjustment_corrects"),
        CheckConstraint("amount_fen >= 0 OR kind = 'adjustment'", name="amount_not_negative"),
        CheckConstraint("billable_minutes >= 0 AND samples >= 0", name="quantities_not_negative"),
        Index("uq_charges_booking_id_kind", "booking_id", "kind", unique=True,
              sqlite_where=text("kind <> 'adjustment'"), postgresql_where=text("kind <> 'adjustment'")),
        Index("ix_charges_org_open", "organisation_id", "statement_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ChargeStatus.OPEN)
    corrects_charge_id: Mapped[int | None] = mapped_column(ForeignKey("charges.id"), index=True)
    # When the service was given (usage: actual start; no-show: booked start; late cancel: when cancelled)
    service_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Snapshot of the rate and the rule at charge time
    customer_class: Mapped[str] = mapped_column(String(20))
    hourly_rate_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    per_sample_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    setup_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    minimum_charge_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    billing_mode: Mapped[str] = mapped_column(String(20))
    billing_increment_minutes: Mapped[int] = mapped_column(Integer, default=1)
    fee_percent: Mapped[int | None] = mapped_column(Integer)  # late cancel / no-show: share of the quote
    quote_fen: Mapped[int | None] = mapped_column(BigInteger)
    booked_minutes: Mapped[int] = mapped_column(Integer, default=0)
    actual_minutes: Mapped[int | None] = mapped_column(Integer)
    billable_minutes: Mapped[int] = mapped_column(Integer, default=0)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    time_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    sample_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    setup_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_fen: Mapped[int] = mapped_column(BigInteger)  # what the rule gave
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # what is billed (after manager adjustments)

    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    booking = relationship("Booking")
    organisation = relationship("Organisation")
    instrument = relationship("Instrument")
    corrects: Mapped[Charge | None] = relationship(remote_side="Charge.id")
    statement: Mapped[Statement | None] = relationship(back_populates="charges")
    events: Mapped[list[ChargeEvent]] = relationship(back_populates="charge", order_by="ChargeEvent.id")

    @property
    def is_open(self) -> bool:
        return self.status == ChargeStatus.OPEN


class ChargeEvent(db.Model):
    """Append-only audit trail of a charge: creation, every adjustment (with its reason), billing."""

    __tablename__ = "charge_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("charges.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    from_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    to_amount_fen: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)

    charge: Mapped[Charge] = relationship(back_populates="events")
    actor = relationship("User")


class StatementCounter(db.Model):
    """The last statement number of a year. Locked FOR UPDATE in the issuing transaction, so
    numbers are gap-free (a sequence would leave a gap on every rollback)."""

    __tablename__ = "statement_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Statement(db.Model):
    """An organisation's bill for a month. Written once, complete, and never changed."""

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("organisation_id", "period_year", "period_month"),
        UniqueConstraint("number_year", "number_seq"),
        CheckConstraint("period_month >= 1 AND period_month <= 12", name="month_valid"),
        CheckConstraint("due_fen = subtotal_fen - voucher_fen", name="due_is_subtotal_less_voucher"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    period_year: Mapped[int] = mapped_column(Integer)
    period_month: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    number_year: Mapped[int] = mapped_column(Integer)
    number_seq: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the monthly job
    # Snapshot of the addressee: the document must read the same forever.
    org_name: Mapped[str] = mapped_column(String(200))
    org_credit_code: Mapped[str | None] = mapped_column(String(18))
    subtotal_fen: Mapped[int] = mapped_column(BigInteger)
    voucher_fen: Mapped[int] = mapped_column(BigInteger)
    due_fen: Mapped[int] = mapped_column(BigInteger)

    organisation = relationship("Organisation")
    issued_by = relationship("User")
    lines: Mapped[list[StatementLine]] = relationship(back_populates="statement", order_by="StatementLine.line_no")
    charges: Mapped[list[Charge]] = relationship(back_populates="statement")


class StatementLine(db.Model):
    __tablename__ = "statement_lines"
    __table_args__ = (
        UniqueConstraint("statement_id", "line_no"),
        CheckConstraint("firm_fen = amount_fen - voucher_fen", name="firm_is_amount_less_voucher"),
        CheckConstraint(
            "(amount_fen >= 0 AND voucher_fen >= 0 AND voucher_fen <= amount_fen) OR "
            "(amount_fen < 0 AND voucher_fen <= 0 AND voucher_fen >= amount_fen)",
            name="voucher_within_amount",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    charge_id: Mapped[int] = mapped_column(ForeignKey("charges.id"), unique=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"), index=True)
    instrument_name_zh: Mapped[str] = mapped_column(String(200))
    instrument_name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    service_at: Mapped[datetime] = mapped_column(UTCDateTime)
    billable_minutes: Mapped[int] = mapped_column(Integer)
    samples: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    voucher_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    firm_fen: Mapped[int] = mapped_column(BigInteger)
    voucher_grant_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_grants.id"), index=True)

    statement: Mapped[Statement] = relationship(back_populates="lines")
    charge: Mapped[Charge] = relationship()
    instrument = relationship("Instrument")
    voucher_grant: Mapped[VoucherGrant | None] = relationship()


voucher_programme_instruments = Table(
    "voucher_programme_instruments",
    db.Model.metadata,
    Column("programme_id", ForeignKey("voucher_programmes.id", ondelete="CASCADE"), primary_key=True),
    Column("instrument_id", ForeignKey("instruments.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class VoucherProgramme(db.Model):
    """A subsidy scheme, e.g. Shandong's innovation vouchers (创新券): covers a share of the fee,
    capped per firm per year. No instruments listed = every instrument is eligible."""

    __tablename__ = "voucher_programmes"
    __table_args__ = (
        CheckConstraint("share_bp > 0 AND share_bp <= 10000", name="share_range"),
        CheckConstraint("yearly_cap_fen > 0", name="cap_positive"),
        CheckConstraint("valid_until >= valid_from", name="validity_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    authority: Mapped[str] = mapped_column(String(200))
    share_bp: Mapped[int] = mapped_column(Integer)  # basis points: 6000 = 60 %
    yearly_cap_fen: Mapped[int] = mapped_column(BigInteger)
    customer_classes: Mapped[str] = mapped_column(String(100))  # comma-separated CustomerClass values
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    instruments = relationship("Instrument", secondary=voucher_programme_instruments, order_by="Instrument.id")
    grants: Mapped[list[VoucherGrant]] = relationship(back_populates="programme", order_by="VoucherGrant.id")

    @property
    def class_list(self) -> list[str]:
        return [c for c in self.customer_classes.split(",") if c]


class VoucherGrant(db.Model):
    """A firm's allowance under a programme for one year. ``used_fen`` is the running total of
    the ledger, changed only under a row lock in the issuing transaction."""

    __tablename__ = "voucher_grants"
    __table_args__ = (
        UniqueConstraint("programme_id", "organisation_id", "year"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("used_fen >= 0 AND used_fen <= amount_fen", name="used_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("voucher_programmes.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    programme: Mapped[VoucherProgramme] = relationship(back_populates="grants")
    organisation = relationship("Organisation")
    entries: Mapped[list[VoucherLedgerEntry]] = relationship(back_populates="grant", order_by="VoucherLedgerEntry.id")

    @property
    def balance_fen(self) -> int:
        return self.amount_fen - self.used_fen


class VoucherLedgerEntry(db.Model):
    """One deduction (positive) or reversal (negative) of a grant, made by issuing a statement."""

    __tablename__ = "voucher_ledger_entries"
    __table_args__ = (
        CheckConstraint("(kind = 'deduction' AND amount_fen > 0) OR (kind = 'reversal' AND amount_fen < 0)",
                        name="sign_matches_kind"),
        CheckConstraint("balance_after_fen >= 0", name="balance_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("voucher_grants.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    balance_after_fen: Mapped[int] = mapped_column(BigInteger)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    statement_line_id: Mapped[int] = mapped_column(ForeignKey("statement_lines.id"), unique=True)

    grant: Mapped[VoucherGrant] = relationship(back_populates="entries")
    statement: Mapped[Statement] = relationship()
    line: Mapped[StatementLine] = relationship()
