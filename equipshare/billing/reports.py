"""Read-only queries: statement lists, charges to review, income by instrument and month, and
the voucher claims an authority reimburses. Scopes (which organisation, which labs) are
explicit arguments; views decide them from permissions."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from equipshare.billing.models import (
    Charge,
    ChargeStatus,
    Statement,
    StatementLine,
    VoucherGrant,
    VoucherProgramme,
)
from equipshare.catalogue.models import Institution, Instrument, Lab
from equipshare.extensions import db
from equipshare.timeutil import format_local


def statements_query(organisation_id: int | None = None, year: int | None = None) -> Select:
    query = select(Statement).options(joinedload(Statement.organisation))
    if organisation_id is not None:
        query = query.where(Statement.organisation_id == organisation_id)
    if year is not None:
        query = query.where(Statement.period_year == year)
    return query.order_by(Statement.period_year.desc(), Statement.period_month.desc(), Statement.number.desc())


def load_statement(statement_id: int) -> Statement | None:
    return db.session.scalar(select(Statement).where(Statement.id == statement_id)
                             .options(joinedload(Statement.lines), joinedload(Statement.organisation)))


def open_charges_of(organisation_id: int) -> list[Charge]:
    """What the next statement will bill so far (non-zero open charges)."""
    return list(db.session.scalars(
        select(Charge).where(Charge.organisation_id == organisation_id, Charge.status == ChargeStatus.OPEN,
                             Charge.amount_fen != 0)
        .options(joinedload(Charge.instrument)).order_by(Charge.service_at, Charge.id)))


def charges_query(lab_ids: set[int] | None, status: str | None = None) -> Select:
    query = (select(Charge).join(Instrument, Charge.instrument_id == Instrument.id)
             .options(joinedload(Charge.instrument), joinedload(Charge.organisation), joinedload(Charge.statement)))
    if lab_ids is not None:
        query = query.where(Instrument.lab_id.in_(lab_ids))
    if status in (ChargeStatus.OPEN, ChargeStatus.BILLED):
        query = query.where(Charge.status == status)
    return query.order_by(Charge.service_at.desc(), Charge.id.desc())


def load_charge(charge_id: int) -> Charge | None:
    return db.session.scalar(select(Charge).where(Charge.id == charge_id)
                             .options(joinedload(Charge.instrument), joinedload(Charge.organisation),
                                      joinedload(Charge.statement)))


def corrections_of(charge_id: int) -> list[Charge]:
    return list(db.session.scalars(select(Charge).where(Charge.corrects_charge_id == charge_id)
                                   .options(joinedload(Charge.statement)).order_by(Charge.id)))


def instruments_in_scope(lab_ids: set[int] | None) -> list[Instrument]:
    query = select(Instrument).options(joinedload(Instrument.lab)).order_by(Instrument.lab_id, Instrument.name_zh)
    if lab_ids is not None:
        query = query.where(Instrument.lab_id.in_(lab_ids))
    return list(db.session.scalars(query))


# --- income ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomeRow:
    instrument: Instrument
    month: int
    lines: int
    amount_fen: int
    voucher_fen: int
    firm_fen: int


@dataclass
class IncomeGroup:
    """One lab's income rows, within its institution."""

    lab: Lab
    rows: list[IncomeRow]

    @property
    def amount_fen(self) -> int:
        return sum(r.amount_fen for r in self.rows)

    @property
    def voucher_fen(self) -> int:
        return sum(r.voucher_fen for r in self.rows)

    @property
    def firm_fen(self) -> int:
        return sum(r.firm_fen for r in self.rows)


def income(year: int, lab_ids: set[int] | None) -> list[IncomeGroup]:
    """Billed income (issued statements of ``year``) by instrument and month, grouped by lab.
    ``lab_ids=None``: every lab (platform admin)."""
    query = (select(StatementLine.instrument_id, Statement.period_month, func.count(StatementLine.id),
                    func.sum(StatementLine.amount_fen), func.sum(StatementLine.voucher_fen),
                    func.sum(StatementLine.firm_fen))
             .join(Statement, StatementLine.statement_id == Statement.id)
             .join(Instrument, StatementLine.instrument_id == Instrument.id)
             .where(Statement.period_year == year)
             .group_by(StatementLine.instrument_id, Statement.period_month))
    if lab_ids is not None:
        query = query.where(Instrument.lab_id.in_(lab_ids))
    rows = db.session.execute(query).all()
    instruments = {i.id: i for i in db.session.scalars(
        select(Instrument).where(Instrument.id.in_({r[0] for r in rows}))
        .options(joinedload(Instrument.lab).joinedload(Lab.institution)))}
    groups: dict[int, IncomeGroup] = {}
    for instrument_id, month, count, amount, voucher, firm in rows:
        instrument = instruments[instrument_id]
        group = groups.setdefault(instrument.lab_id, IncomeGroup(instrument.lab, []))
        group.rows.append(IncomeRow(instrument, month, count, int(amount), int(voucher), int(firm)))
    for group in groups.values():
        group.rows.sort(key=lambda r: (r.instrument.name_zh, r.instrument.id, r.month))
    return sorted(groups.values(), key=lambda g: (g.lab.institution.name_zh, g.lab.name_zh, g.lab.id))


# --- voucher claims ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRow:
    institution: str
    firm: str
    credit_code: str
    programme: str
    instrument: str
    service_date: str
    hours: Decimal
    fee_fen: int
    voucher_fen: int
    statement: str
    booking_id: int


def claims(year: int, month: int, institution_id: int | None) -> list[ClaimRow]:
    """Voucher-covered lines of the statements for a month: what each institution claims back
    from the voucher's authority (reversals appear as negative lines)."""
    query = (select(StatementLine, Statement, Institution.name_zh, VoucherProgramme.name)
             .join(Statement, StatementLine.statement_id == Statement.id)
             .join(Instrument, StatementLine.instrument_id == Instrument.id)
             .join(Lab, Instrument.lab_id == Lab.id)
             .join(Institution, Lab.institution_id == Institution.id)
             .join(VoucherGrant, StatementLine.voucher_grant_id == VoucherGrant.id)
             .join(VoucherProgramme, VoucherGrant.programme_id == VoucherProgramme.id)
             .where(Statement.period_year == year, Statement.period_month == month, StatementLine.voucher_fen != 0)
             .order_by(Institution.name_zh, Statement.org_name, StatementLine.service_at, StatementLine.id))
    if institution_id is not None:
        query = query.where(Institution.id == institution_id)
    return [
        ClaimRow(institution=institution, firm=statement.org_name, credit_code=statement.org_credit_code or "",
                 programme=programme, instrument=line.instrument_name_zh,
                 service_date=format_local(line.service_at, "%Y-%m-%d"),
                 hours=(Decimal(line.billable_minutes) / 60).quantize(Decimal("0.01")),
                 fee_fen=line.amount_fen, voucher_fen=line.voucher_fen, statement=statement.number,
                 booking_id=line.booking_id)
        for line, statement, institution, programme in db.session.execute(query).all()
    ]
