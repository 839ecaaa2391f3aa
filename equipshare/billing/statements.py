"""Monthly statements: issued once per organisation and month, complete and immutable.

A statement for month M bills every open, non-zero charge of the organisation whose service
date is before the end of M (so a charge recorded late goes on the next statement instead of
being lost). Issuing is one transaction per organisation:
charges locked (FOR UPDATE) → the organisation's voucher grants locked (FOR UPDATE; on SQLite
the BEGIN IMMEDIATE of begin_write serialises) → the year's number counter locked → statement,
lines, ledger rows and billed charges written → commit. Numbers come from a counter row, not
a sequence, so a rolled-back issue leaves no gap.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from equipshare.accounts.models import Organisation, User
from equipshare.billing.charges import create_missing_charges
from equipshare.billing.models import (
    Charge,
    ChargeEvent,
    ChargeKind,
    ChargeStatus,
    Statement,
    StatementCounter,
    StatementLine,
    VoucherGrant,
    VoucherLedgerEntry,
    VoucherProgramme,
)
from equipshare.billing.permissions import can_issue_statements
from equipshare.billing.split import GrantState, LineInput, split_lines
from equipshare.db import begin_write
from equipshare.errors import Forbidden, NotFound, RuleViolation
from equipshare.extensions import db
from equipshare.timeutil import local_midnight, to_local

log = logging.getLogger(__name__)
FIRST_YEAR, LAST_YEAR = 2000, 2100


def previous_month(now: datetime) -> tuple[int, int]:
    today = to_local(now).date()
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def period_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in China Standard Time, as UTC datetimes."""
    start = local_midnight(date(year, month, 1))
    end = local_midnight(date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1))
    return start, end


def check_period(year: int, month: int, now: datetime) -> None:
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        raise RuleViolation(_l("Choose a valid month."), code="bad_period", field="period")
    if period_bounds(year, month)[1] > now:
        raise RuleViolation(_l("A month can be billed only after it has ended."), code="period_not_over",
                            field="period")


def _check_actor(actor: User | None) -> User | None:
    if actor is None:
        return None  # the scheduled job
    actor = db.session.get(User, actor.id)
    if not can_issue_statements(actor):
        raise Forbidden(_l("Only platform administrators issue statements."), code="not_admin")
    return actor


def _next_number(year: int) -> tuple[int, str]:
    """Take the next number of ``year`` under the counter row's lock (gap-free)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(StatementCounter).values(year=year, last_number=0)
                       .on_conflict_do_nothing(index_elements=["year"]))
    counter = db.session.scalar(select(StatementCounter).where(StatementCounter.year == year)
                                .with_for_update().execution_options(populate_existing=True))
    counter.last_number += 1
    return counter.last_number, f"ES{year}-{counter.last_number:06d}"


def _statement_exists(organisation_id: int, year: int, month: int) -> bool:
    return db.session.scalar(select(exists().where(
        Statement.organisation_id == organisation_id, Statement.period_year == year,
        Statement.period_month == month)))


def _billable_charges(organisation_id: int, end: datetime):
    return (select(Charge).where(Charge.organisation_id == organisation_id, Charge.statement_id.is_(None),
                                 Charge.amount_fen != 0, Charge.service_at < end)
            .order_by(Charge.service_at, Charge.id))


def _grant_states(organisation_id: int) -> tuple[list[VoucherGrant], list[GrantState]]:
    grants = db.session.scalars(
        select(VoucherGrant).where(VoucherGrant.organisation_id == organisation_id).order_by(VoucherGrant.id)
        .with_for_update().execution_options(populate_existing=True)).all()
    programmes = {p.id: p for p in db.session.scalars(
        select(VoucherProgramme).where(VoucherProgramme.id.in_({g.programme_id for g in grants}))
        .options(selectinload(VoucherProgramme.instruments)))}
    states = []
    for grant in grants:
        p = programmes[grant.programme_id]
        states.append(GrantState(
            id=grant.id, year=grant.year, share_bp=p.share_bp, remaining=grant.amount_fen - grant.used_fen,
            customer_classes=frozenset(p.class_list), instrument_ids=frozenset(i.id for i in p.instruments),
            valid_from=p.valid_from, valid_until=p.valid_until, active=p.active))
    return grants, states


def _prior_vouchers(chain_ids: set[int]) -> dict[tuple[int, int], int]:
    """Voucher money each charge chain already received, per grant (from issued statements)."""
    chain = func.coalesce(Charge.corrects_charge_id, Charge.id)
    rows = db.session.execute(
        select(chain, StatementLine.voucher_grant_id, func.sum(StatementLine.voucher_fen))
        .join(Charge, StatementLine.charge_id == Charge.id)
        .where(chain.in_(chain_ids), StatementLine.voucher_grant_id.is_not(None))
        .group_by(chain, StatementLine.voucher_grant_id)).all()
    return {(c, g): int(total) for c, g, total in rows}


def issue_statement(actor: User | None, organisation_id: int, year: int, month: int,
                    now: datetime) -> Statement | None:
    """Issue the statement of one organisation for one month. Returns None when there is
    nothing to bill or the statement exists already (idempotent)."""
    begin_write(db.session)
    actor = _check_actor(actor)
    check_period(year, month, now)
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(_l("No such organisation."), code="organisation_not_found")
    if _statement_exists(organisation_id, year, month):
        db.session.rollback()
        return None
    _, end = period_bounds(year, month)
    charges = db.session.scalars(_billable_charges(organisation_id, end).with_for_update()
                                 .execution_options(populate_existing=True)).all()
    if not charges:
        db.session.rollback()
        return None
    grants, states = _grant_states(organisation_id)
    with db.session.no_autoflush:
        roots = {c.id: (c.corrects or c) for c in charges}
        inputs = [LineInput(amount_fen=c.amount_fen, chain_id=roots[c.id].id,
                            eligible_kind=roots[c.id].kind == ChargeKind.USAGE, customer_class=c.customer_class,
                            instrument_id=c.instrument_id, service_date=to_local(c.service_at).date())
                  for c in charges]
    prior = _prior_vouchers({i.chain_id for i in inputs})
    balances = {s.id: s.remaining for s in states}
    splits = split_lines(inputs, states, year, prior)
    number_year = to_local(now).year
    seq, number = _next_number(number_year)

    with db.session.no_autoflush:
        statement = Statement(
            organisation_id=organisation_id, period_year=year, period_month=month, number=number,
            number_year=number_year, number_seq=seq, issued_at=now, issued_by_id=actor.id if actor else None,
            org_name=organisation.name, org_credit_code=organisation.credit_code,
            subtotal_fen=sum(c.amount_fen for c in charges), voucher_fen=sum(s.voucher_fen for s in splits),
        )
        statement.due_fen = statement.subtotal_fen - statement.voucher_fen
        lines = []
        for line_no, (charge, split) in enumerate(zip(charges, splits, strict=True), start=1):
            instrument = charge.instrument
            lines.append(StatementLine(
                statement=statement, line_no=line_no, charge_id=charge.id, booking_id=charge.booking_id,
                instrument_id=charge.instrument_id, instrument_name_zh=instrument.name_zh,
                instrument_name_en=instrument.name_en, kind=charge.kind, service_at=charge.service_at,
                billable_minutes=charge.billable_minutes, samples=charge.samples, amount_fen=charge.amount_fen,
                voucher_fen=split.voucher_fen, firm_fen=split.firm_fen(charge.amount_fen),
                voucher_grant_id=split.grant_id))
        db.session.add(statement)
    db.session.flush()  # the statement and its lines are written once, complete

    for charge, line in zip(charges, lines, strict=True):
        # statement_id and status in one UPDATE: after it, the charge is frozen (trigger)
        charge.statement_id, charge.status = statement.id, ChargeStatus.BILLED
        db.session.add(ChargeEvent(charge_id=charge.id, actor_id=statement.issued_by_id, at=now, action="billed",
                                   from_status=ChargeStatus.OPEN, to_status=ChargeStatus.BILLED,
                                   from_amount_fen=charge.amount_fen, to_amount_fen=charge.amount_fen,
                                   note=number))
        if line.voucher_fen:
            balances[line.voucher_grant_id] -= line.voucher_fen
            db.session.add(VoucherLedgerEntry(
                grant_id=line.voucher_grant_id, at=now, kind="deduction" if line.voucher_fen > 0 else "reversal",
                amount_fen=line.voucher_fen, balance_after_fen=balances[line.voucher_grant_id],
                statement_id=statement.id, statement_line_id=line.id))
    for grant, state in zip(grants, states, strict=True):
        if grant.amount_fen - grant.used_fen != state.remaining:
            grant.used_fen = grant.amount_fen - state.remaining
    try:
        db.session.commit()
    except IntegrityError:
        # Issued by someone else meanwhile (unique organisation × month): nothing to do.
        db.session.rollback()
        if _statement_exists(organisation_id, year, month):
            return None
        raise
    log.info("Issued statement %s for organisation %s (%s-%02d)", number, organisation_id, year, month)
    return statement


def organisations_to_bill(year: int, month: int) -> list[int]:
    _, end = period_bounds(year, month)
    has_statement = exists().where(Statement.organisation_id == Charge.organisation_id,
                                   Statement.period_year == year, Statement.period_month == month)
    return list(db.session.scalars(
        select(Charge.organisation_id).where(Charge.statement_id.is_(None), Charge.amount_fen != 0,
                                             Charge.service_at < end, ~has_statement)
        .distinct().order_by(Charge.organisation_id)))


def issue_statements_for_month(actor: User | None, year: int, month: int, now: datetime) -> list[Statement]:
    """Every organisation with something to bill gets its statement for the month (one
    transaction each). Running it again issues nothing new."""
    _check_actor(actor)
    check_period(year, month, now)
    db.session.rollback()
    issued = []
    for organisation_id in organisations_to_bill(year, month):
        statement = issue_statement(actor, organisation_id, year, month, now)
        if statement is not None:
            issued.append(statement)
    return issued


def run_monthly_statements(now: datetime) -> dict[str, int]:
    """The "monthly-statements" job: the safety net for charges, then last month's statements.
    Idempotent: a second run (or a run after the admin issued them by hand) adds nothing."""
    created = create_missing_charges(now)
    year, month = previous_month(now)
    issued = issue_statements_for_month(None, year, month, now)
    return {"missing_charges_created": created, "statements_issued": len(issued)}
