"""The arithmetic, without a database: billable time, fees, voucher splits, CSV guards."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from equipshare.billing.exports import cell_safe, to_csv
from equipshare.billing.rules import (
    MAX_RATE_FEN,
    RateSnapshot,
    billable_minutes,
    percent_of,
    share_of,
    usage_fee,
)
from equipshare.billing.split import GrantState, LineInput, split_lines
from equipshare.errors import RuleViolation

rates = st.integers(min_value=0, max_value=MAX_RATE_FEN)


@pytest.mark.parametrize(("mode", "increment", "booked", "actual", "expected"), [
    ("actual", 1, 60, 45, 45),
    ("actual", 15, 60, 46, 60),
    ("actual", 30, 60, 61, 90),
    ("max_booked_actual", 1, 60, 45, 60),
    ("max_booked_actual", 15, 60, 75, 75),
    ("max_booked_actual", 30, 50, 10, 60),
    ("actual", 60, 60, 0, 0),
])
def test_billable_minutes(mode, increment, booked, actual, expected):
    assert billable_minutes(mode, increment, booked, actual) == expected


@given(mode=st.sampled_from(["actual", "max_booked_actual"]), increment=st.integers(1, 1440),
       booked=st.integers(0, 10080), actual=st.integers(0, 10080))
def test_billable_minutes_properties(mode, increment, booked, actual):
    base = actual if mode == "actual" else max(booked, actual)
    minutes = billable_minutes(mode, increment, booked, actual)
    assert minutes % increment == 0
    assert base <= minutes < base + increment


def test_unknown_mode_is_a_bug():
    with pytest.raises(ValueError):
        billable_minutes("whatever", 1, 1, 1)


@given(hourly=rates, per_sample=rates, setup=rates, minimum=rates, minutes=st.integers(0, 10080),
       samples=st.integers(0, 10_000))
def test_usage_fee_is_exact(hourly, per_sample, setup, minimum, minutes, samples):
    rate = RateSnapshot(hourly, per_sample, setup, minimum)
    fee = usage_fee(rate, "enterprise", minutes, samples)
    time_fen = int((Decimal(hourly) * minutes / 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert fee.time_fen == time_fen
    assert fee.total_fen == max(time_fen + per_sample * samples + setup, minimum)
    assert fee.total_fen >= 0 and isinstance(fee.total_fen, int)


def test_half_up_once_per_line():
    # ¥0.01 an hour for 30 minutes is half a fen: rounds up, once.
    assert usage_fee(RateSnapshot(1, 0, 0, 0), "enterprise", 30, 0).time_fen == 1
    # ¥400.00/h for 20 minutes = 13333.33… fen
    assert usage_fee(RateSnapshot(40000, 0, 0, 0), "enterprise", 20, 0).time_fen == 13333
    assert percent_of(12345, 10) == 1235  # 1234.5 → 1235
    assert share_of(1, 5000) == 1 and share_of(3, 5000) == 2 and share_of(10000, 6000) == 6000


@pytest.mark.parametrize("bad", [-1, MAX_RATE_FEN + 1])
def test_negative_or_absurd_rates_are_refused(bad):
    with pytest.raises(RuleViolation) as info:
        RateSnapshot(hourly_rate_fen=bad).check("SEM")
    assert info.value.code == "invalid_rate" and "SEM" in str(info.value.message)


def test_share_and_percent_bounds():
    with pytest.raises(ValueError):
        share_of(100, 10001)
    with pytest.raises(ValueError):
        share_of(100, 0)
    with pytest.raises(ValueError):
        percent_of(100, 101)


def _grant(gid=1, year=2026, share_bp=6000, remaining=50_000_000, classes=("enterprise",), instruments=(),
           valid=(date(2026, 1, 1), date(2026, 12, 31)), active=True):
    return GrantState(gid, year, share_bp, remaining, frozenset(classes), frozenset(instruments), *valid, active)


def _line(amount, chain=1, kind=True, cls="enterprise", instrument=1, day=date(2026, 3, 10)):
    return LineInput(amount, chain, kind, cls, instrument, day)


def test_split_covers_the_share_up_to_the_balance():
    grant = _grant(remaining=10_000)
    splits = split_lines([_line(10_000, 1), _line(10_000, 2)], [grant], 2026, {})
    assert [s.voucher_fen for s in splits] == [6000, 4000]
    assert grant.remaining == 0


@pytest.mark.parametrize(("grant_kw", "line_kw"), [
    ({"year": 2025}, {}),
    ({"classes": ("academic",)}, {}),
    ({"instruments": (7,)}, {}),
    ({"valid": (date(2026, 4, 1), date(2026, 12, 31))}, {}),
    ({"active": False}, {}),
    ({}, {"kind": False}),  # late-cancellation and no-show fees are not subsidised
])
def test_split_skips_ineligible_lines(grant_kw, line_kw):
    grant = _grant(**grant_kw)
    assert split_lines([_line(10_000, **line_kw)], [grant], 2026, {})[0].voucher_fen == 0


def test_split_reverses_what_a_chain_received():
    grant = _grant(remaining=1000)
    prior = {(1, 1): 600}
    splits = split_lines([_line(-10_000, chain=1)], [grant], 2026, prior)
    assert splits[0].voucher_fen == -600 and splits[0].grant_id == 1
    assert grant.remaining == 1600 and prior[(1, 1)] == 0
    # nothing received, nothing reversed
    assert split_lines([_line(-500, chain=2)], [grant], 2026, prior)[0].voucher_fen == 0


def test_split_picks_the_grant_that_pays_most():
    small, large = _grant(1, share_bp=5000), _grant(2, share_bp=8000)
    split = split_lines([_line(1000)], [small, large], 2026, {})[0]
    assert (split.voucher_fen, split.grant_id) == (800, 2)


@settings(max_examples=200)
@given(amounts=st.lists(st.integers(-100_000, 10**9), min_size=1, max_size=12),
       shares=st.lists(st.integers(1, 10_000), min_size=1, max_size=3),
       balances=st.lists(st.integers(0, 10**8), min_size=3, max_size=3))
def test_split_properties(amounts, shares, balances):
    grants = [_grant(i + 1, share_bp=s, remaining=balances[i]) for i, s in enumerate(shares)]
    start = {g.id: g.remaining for g in grants}
    lines = [_line(a, chain=i % 4) for i, a in enumerate(amounts)]
    prior: dict = {}
    splits = split_lines(lines, grants, 2026, prior)
    for line, split in zip(lines, splits, strict=True):
        firm = split.firm_fen(line.amount_fen)
        if line.amount_fen >= 0:
            assert 0 <= split.voucher_fen <= line.amount_fen and firm >= 0
            if split.grant_id:
                share = next(g.share_bp for g in grants if g.id == split.grant_id)
                assert split.voucher_fen <= share_of(line.amount_fen, share)
        else:
            assert line.amount_fen <= split.voucher_fen <= 0
    for grant in grants:
        used = sum(s.voucher_fen for s in splits if s.grant_id == grant.id)
        assert grant.remaining == start[grant.id] - used
        assert 0 <= grant.remaining
    assert all(value >= 0 for value in prior.values())


@pytest.mark.parametrize("text", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"])
def test_csv_formula_injection_is_neutralised(text):
    assert cell_safe(text) == "'" + text
    assert b"'" + text.encode() in to_csv(["h"], [[text]]) or text[0] in "\t\r"


def test_csv_keeps_numbers_and_plain_text():
    assert cell_safe(Decimal("-12.50")) == Decimal("-12.50")
    assert cell_safe("临沂") == "临沂"
    body = to_csv(["a", "b"], [["临沂", Decimal("-12.50")]]).decode("utf-8")
    assert body.startswith("\ufeff") and "临沂,-12.50" in body
