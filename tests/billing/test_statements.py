"""Issuing statements: lines, totals, numbers, immutability, idempotency, vouchers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from equipshare.billing import statements as service
from equipshare.billing.charges import add_correction, charge_booking
from equipshare.billing.models import Charge, Statement, StatementLine, VoucherGrant, VoucherLedgerEntry
from equipshare.errors import Forbidden, RuleViolation
from equipshare.extensions import db
from tests.billing.helpers import APRIL_1, completed_booking, local, setup_firm
from tests.factories import make_client_user, make_manager, make_voucher_grant, make_voucher_programme

MAY_1 = local(2026, 5, 1, 0, 5)


def _charge(s, start, minutes=60, **kw) -> Charge:
    return charge_booking(completed_booking(s.instrument, s.client, start, minutes, **kw), None, APRIL_1)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_statement_bills_the_month_with_exact_totals():
    s = setup_firm(rates={"enterprise": 40000})
    a = _charge(s, local(2026, 3, 2), 90)
    b = _charge(s, local(2026, 3, 31, 23, 0), 30)
    _charge(s, local(2026, 4, 1, 9))  # April: next statement
    db.session.commit()
    statement = service.issue_statement(None, s.org.id, 2026, 3, APRIL_1)
    assert statement.number == "ES2026-000001" and statement.issued_by_id is None
    assert [(line.line_no, line.charge_id, line.amount_fen) for line in statement.lines] == [
        (1, a.id, 60000), (2, b.id, 20000)]
    assert statement.subtotal_fen == 80000 == sum(line.amount_fen for line in statement.lines)
    assert statement.voucher_fen == 0 and statement.due_fen == 80000
    assert statement.org_name == s.org.name and statement.org_credit_code == s.org.credit_code
    assert {c.status for c in (a, b)} == {"billed"} and a.statement_id == statement.id
    assert [e.action for e in a.events] == ["created", "billed"]


def test_reissuing_and_the_job_add_nothing():
    s = setup_firm()
    _charge(s, local(2026, 3, 2))
    db.session.commit()
    assert service.run_monthly_statements(APRIL_1) == {"missing_charges_created": 0, "statements_issued": 1}
    assert service.run_monthly_statements(APRIL_1) == {"missing_charges_created": 0, "statements_issued": 0}
    assert service.issue_statement(None, s.org.id, 2026, 3, APRIL_1) is None
    assert _count(Statement) == 1 and _count(StatementLine) == 1


def test_job_creates_missing_charges_first_and_bills_only_organisations_with_charges():
    s = setup_firm()
    completed_booking(s.instrument, s.client, local(2026, 3, 2))  # no charge yet: the safety net makes it
    make_client_user(org_admin=True)  # a firm without charges gets no statement
    db.session.commit()
    assert service.run_monthly_statements(APRIL_1) == {"missing_charges_created": 1, "statements_issued": 1}


def test_late_charge_goes_on_the_next_statement():
    s = setup_firm()
    _charge(s, local(2026, 3, 2))
    db.session.commit()
    march = service.issue_statement(None, s.org.id, 2026, 3, APRIL_1)
    late = _charge(s, local(2026, 3, 30))  # usage of March recorded after the March statement
    db.session.commit()
    april = service.issue_statement(None, s.org.id, 2026, 4, MAY_1)
    assert [line.charge_id for line in april.lines] == [late.id]
    assert (march.number, april.number) == ("ES2026-000001", "ES2026-000002")


def test_numbers_are_gap_free_across_a_failed_issue(monkeypatch):
    first, second = setup_firm(), setup_firm()
    _charge(first, local(2026, 3, 2))
    _charge(second, local(2026, 3, 3))
    db.session.commit()
    real = service.ChargeEvent

    def broken(**kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "ChargeEvent", broken)
    with pytest.raises(RuntimeError):
        service.issue_statement(None, first.org.id, 2026, 3, APRIL_1)
    db.session.rollback()
    monkeypatch.setattr(service, "ChargeEvent", real)
    issued = service.issue_statements_for_month(None, 2026, 3, APRIL_1)
    assert [st.number for st in issued] == ["ES2026-000001", "ES2026-000002"]
    # numbering restarts each year (the year of issue)
    _charge(first, local(2026, 12, 5))
    db.session.commit()
    january = service.issue_statement(None, first.org.id, 2026, 12, local(2027, 1, 1, 0, 5))
    assert january.number == "ES2027-000001"


@pytest.mark.parametrize(("year", "month", "code"), [(2026, 4, "period_not_over"), (2026, 13, "bad_period"),
                                                     (1999, 5, "bad_period")])
def test_bad_periods_are_refused(year, month, code):
    s = setup_firm()
    db.session.commit()
    with pytest.raises(RuleViolation) as info:
        service.issue_statement(None, s.org.id, year, month, APRIL_1)
    assert info.value.code == code


def test_only_platform_admins_issue_statements():
    s = setup_firm()
    _charge(s, local(2026, 3, 2))
    db.session.commit()
    for actor in (s.client, s.manager, make_manager()):
        with pytest.raises(Forbidden):
            service.issue_statements_for_month(actor, 2026, 3, APRIL_1)
        db.session.rollback()
    assert _count(Statement) == 0


@pytest.mark.parametrize("sql", [
    "UPDATE statements SET due_fen = 0, subtotal_fen = 0",
    "DELETE FROM statements",
    "UPDATE statement_lines SET amount_fen = 1, firm_fen = 1",
    "DELETE FROM statement_lines",
    "UPDATE charges SET amount_fen = 1 WHERE statement_id IS NOT NULL",
    "DELETE FROM charges WHERE statement_id IS NOT NULL",
    "UPDATE voucher_ledger_entries SET balance_after_fen = 0",
    "UPDATE charge_events SET note = 'rewritten'",
])
def test_database_refuses_to_change_issued_records(sql):
    s = setup_firm()
    programme = make_voucher_programme()
    make_voucher_grant(programme, s.org, 2026, 10_000)
    _charge(s, local(2026, 3, 2))
    db.session.commit()
    service.issue_statement(None, s.org.id, 2026, 3, APRIL_1)
    with pytest.raises(DBAPIError, match="billing_immutable"):
        db.session.execute(text(sql))
        db.session.flush()
    db.session.rollback()
    statement = db.session.scalar(select(Statement))
    assert statement.due_fen == 40000 - 10_000 and len(statement.lines) == 1


def test_open_charges_stay_editable_in_the_database():
    s = setup_firm()
    charge = _charge(s, local(2026, 3, 2))
    db.session.commit()
    db.session.execute(text("UPDATE charges SET amount_fen = 5 WHERE id = :id"), {"id": charge.id})
    db.session.commit()


# --- vouchers ---------------------------------------------------------------------------------------------


def test_voucher_covers_its_share_and_the_ledger_tracks_the_balance():
    s = setup_firm(rates={"enterprise": 40000})
    grant = make_voucher_grant(make_voucher_programme(share_bp=6000), s.org, 2026, 50000)
    _charge(s, local(2026, 3, 2), 60)   # 40000 → voucher 24000
    _charge(s, local(2026, 3, 3), 90)   # 60000 → voucher 36000 > balance 26000 → 26000
    _charge(s, local(2026, 3, 4), 60)   # balance exhausted → 0
    db.session.commit()
    statement = service.issue_statement(None, s.org.id, 2026, 3, APRIL_1)
    assert [(line.amount_fen, line.voucher_fen, line.firm_fen) for line in statement.lines] == [
        (40000, 24000, 16000), (60000, 26000, 34000), (40000, 0, 40000)]
    assert (statement.subtotal_fen, statement.voucher_fen, statement.due_fen) == (140000, 50000, 90000)
    db.session.refresh(grant)
    assert grant.used_fen == 50000 and grant.balance_fen == 0
    entries = db.session.scalars(select(VoucherLedgerEntry).order_by(VoucherLedgerEntry.id)).all()
    assert [(e.kind, e.amount_fen, e.balance_after_fen) for e in entries] == [
        ("deduction", 24000, 26000), ("deduction", 26000, 0)]


def test_voucher_is_limited_to_eligible_classes_instruments_years_and_kinds():
    s = setup_firm()
    other = setup_firm()
    programme = make_voucher_programme(instruments=[other.instrument])  # not s.instrument
    make_voucher_grant(programme, s.org, 2026, 50000)
    make_voucher_grant(make_voucher_programme(), s.org, 2025, 50000)  # last year's grant
    academic = make_voucher_programme(classes="academic")
    make_voucher_grant(academic, s.org, 2026, 50000)
    s.instrument.no_show_fee_percent = 100
    _charge(s, local(2026, 3, 2))
    db.session.commit()
    statement = service.issue_statement(None, s.org.id, 2026, 3, APRIL_1)
    assert statement.voucher_fen == 0


def test_negative_correction_reverses_the_voucher_and_restores_the_balance():
    s = setup_firm(rates={"enterprise": 40000})
    grant = make_voucher_grant(make_voucher_programme(share_bp=6000), s.org, 2026, 100000)
    charge = _charge(s, local(2026, 3, 2), 120)  # 80000, voucher 48000
    db.session.commit()
    service.issue_statement(None, s.org.id, 2026, 3, APRIL_1)
    add_correction(s.manager, charge.id, -20000, "one hour less", APRIL_1)
    april = service.issue_statement(None, s.org.id, 2026, 4, MAY_1)
    assert [(line.amount_fen, line.voucher_fen, line.firm_fen) for line in april.lines] == [(-20000, -12000, -8000)]
    db.session.refresh(grant)
    assert grant.used_fen == 36000
    last = db.session.scalars(select(VoucherLedgerEntry).order_by(VoucherLedgerEntry.id.desc())).first()
    assert (last.kind, last.amount_fen, last.balance_after_fen) == ("reversal", -12000, 64000)


def test_database_refuses_a_grant_used_beyond_its_amount():
    s = setup_firm()
    grant = make_voucher_grant(make_voucher_programme(), s.org, 2026, 100)
    db.session.commit()
    with pytest.raises(DBAPIError):
        db.session.execute(VoucherGrant.__table__.update().values(used_fen=101))
        db.session.flush()
    db.session.rollback()
    assert db.session.get(VoucherGrant, grant.id).used_fen == 0
