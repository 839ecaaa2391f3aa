"""Property-based tests over the whole path (charges → statement → vouchers) on the database:
random rates, durations, sample counts and voucher settings. Sums are exact, no line is
negative, caps and balances hold, and re-running the statement job adds nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from equipshare.billing.charges import create_missing_charges
from equipshare.billing.models import Charge, Statement, VoucherGrant, VoucherLedgerEntry
from equipshare.billing.rules import MAX_RATE_FEN, billable_minutes
from equipshare.billing.statements import issue_statement, run_monthly_statements
from equipshare.extensions import db
from tests.billing.helpers import APRIL_1, completed_booking, local, setup_firm
from tests.factories import make_voucher_grant, make_voucher_programme

money = st.integers(min_value=0, max_value=MAX_RATE_FEN)
bookings = st.lists(st.tuples(st.integers(1, 600), st.integers(1, 900), st.integers(0, 50)), min_size=1, max_size=5)


def _expected_fee(rate, mode, increment, booked, actual, samples) -> int:
    minutes = billable_minutes(mode, increment, booked, actual)
    time_fen = int((Decimal(rate[0]) * minutes / 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return max(time_fen + rate[1] * samples + rate[2], rate[3])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rate=st.tuples(money, st.integers(0, 100_000), st.integers(0, 1_000_000), st.integers(0, 10_000_000)),
       mode=st.sampled_from(["actual", "max_booked_actual"]), increment=st.sampled_from([1, 5, 15, 30, 60]),
       durations=bookings, share_bp=st.integers(1, 10_000), cap=st.integers(1, 10**9),
       grant_ratio=st.floats(0.0001, 1.0), second_grant=st.booleans())
def test_billing_invariants(rate, mode, increment, durations, share_bp, cap, grant_ratio, second_grant):
    rates = {"enterprise": rate[0]}
    s = setup_firm(rates=rates, billing_mode=mode, billing_increment_minutes=increment)
    card = s.instrument.rate_for("enterprise")
    card.per_sample_fen, card.setup_fee_fen, card.minimum_charge_fen = rate[1], rate[2], rate[3]
    programme = make_voucher_programme(share_bp=share_bp, yearly_cap_fen=cap)
    grant_amount = max(1, int(cap * grant_ratio))
    grants = [make_voucher_grant(programme, s.org, 2026, grant_amount)]
    if second_grant:
        grants.append(make_voucher_grant(make_voucher_programme(share_bp=10_000 - share_bp or 1,
                                                                yearly_cap_fen=cap), s.org, 2026, grant_amount))
    expected = []
    start = local(2026, 3, 2, 8)
    for booked, actual, samples in durations:
        completed_booking(s.instrument, s.client, start, booked, actual, samples)
        expected.append(_expected_fee(rate, mode, increment, booked, actual, samples))
        start += timedelta(days=1)
    db.session.commit()

    assert create_missing_charges(APRIL_1) == len(durations)
    charges = db.session.scalars(select(Charge).where(Charge.organisation_id == s.org.id)
                                 .order_by(Charge.service_at)).all()
    assert [c.amount_fen for c in charges] == expected

    statement = issue_statement(None, s.org.id, 2026, 3, APRIL_1)
    if sum(expected) == 0:
        assert statement is None
        return
    lines = statement.lines
    assert len(lines) == sum(1 for e in expected if e)
    assert statement.subtotal_fen == sum(e for e in expected) == sum(line.amount_fen for line in lines)
    assert statement.voucher_fen == sum(line.voucher_fen for line in lines)
    assert statement.due_fen == statement.subtotal_fen - statement.voucher_fen >= 0
    for line in lines:
        assert line.amount_fen > 0 and 0 <= line.voucher_fen <= line.amount_fen and line.firm_fen >= 0
        if line.voucher_grant_id is not None:
            line_share = line.voucher_grant.programme.share_bp
            share = int((Decimal(line.amount_fen) * line_share / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            assert line.voucher_fen <= share
        else:
            assert line.voucher_fen == 0
    for grant in grants:
        db.session.refresh(grant)
        ledger = db.session.scalar(select(func.coalesce(func.sum(VoucherLedgerEntry.amount_fen), 0))
                                   .where(VoucherLedgerEntry.grant_id == grant.id))
        assert 0 <= grant.used_fen == ledger <= grant.amount_fen <= cap
    assert sum(g.used_fen for g in grants) == statement.voucher_fen

    # re-running the job adds nothing
    counts = (db.session.scalar(select(func.count()).select_from(Statement)),
              db.session.scalar(select(func.count()).select_from(VoucherLedgerEntry)))
    run_monthly_statements(APRIL_1)
    assert counts == (db.session.scalar(select(func.count()).select_from(Statement)),
                      db.session.scalar(select(func.count()).select_from(VoucherLedgerEntry)))
    assert db.session.scalar(select(func.sum(VoucherGrant.used_fen)).where(
        VoucherGrant.organisation_id == s.org.id)) == statement.voucher_fen
