"""The arithmetic of billing, free of the database: billable time, fees, voucher shares.

Money is integer fen; every product is computed with Decimal and rounded half-up once, at the
line (money.round_fen). Sums of lines are plain integer sums, so they are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from equipshare.catalogue.pricing import Quote, quote
from equipshare.errors import RuleViolation
from equipshare.money import round_fen

MAX_RATE_FEN = 100_000_000  # ¥1,000,000 per hour, sample or set-up: anything larger is a typo
MAX_INCREMENT_MINUTES = 1440
MAX_SHARE_BP = 10_000  # 100 %


@dataclass(frozen=True)
class RateSnapshot:
    """The rate card values copied onto a charge (same attribute names as RateCard)."""

    hourly_rate_fen: int = 0
    per_sample_fen: int = 0
    setup_fee_fen: int = 0
    minimum_charge_fen: int = 0

    @classmethod
    def of(cls, rate_card) -> RateSnapshot:
        if rate_card is None:
            return cls()
        return cls(rate_card.hourly_rate_fen, rate_card.per_sample_fen, rate_card.setup_fee_fen,
                   rate_card.minimum_charge_fen)

    def check(self, instrument_name: str = "") -> None:
        """Refuse a negative or absurd rate: a charge computed from it would be wrong."""
        for value in (self.hourly_rate_fen, self.per_sample_fen, self.setup_fee_fen, self.minimum_charge_fen):
            if not isinstance(value, int) or value < 0 or value > MAX_RATE_FEN:
                raise RuleViolation(
                    _l("The rate card of %(instrument)s has a negative or implausibly large fee. "
                       "Correct the rates before charging for it.", instrument=instrument_name),
                    code="invalid_rate")


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes, a started minute counting as a minute; never negative."""
    seconds = (end - start).total_seconds()
    return max(0, math.ceil(seconds / 60))


def round_up_to(minutes: int, increment: int) -> int:
    if increment < 1:
        raise ValueError("increment must be positive")
    return -(-minutes // increment) * increment


def billable_minutes(mode: str, increment: int, booked: int, actual: int) -> int:
    """``actual``: the time used; ``max_booked_actual``: the larger of booked and used time
    (a common core-facility rule). Rounded up to the instrument's billing increment."""
    if mode == "actual":
        base = actual
    elif mode == "max_booked_actual":
        base = max(booked, actual)
    else:
        raise ValueError(f"unknown billing mode {mode!r}")
    return round_up_to(max(0, base), increment)


def usage_fee(rate: RateSnapshot, customer_class: str, minutes: int, samples: int) -> Quote:
    """Hourly rate × billable time (rounded half-up once), per-sample fees, set-up fee; at least
    the minimum charge. The same formula as a booking's quote."""
    return quote(rate, customer_class, minutes, samples)


def percent_of(amount_fen: int, percent: int) -> int:
    """A late-cancellation or no-show fee: ``percent`` of the quote, rounded half-up."""
    if not 0 <= percent <= 100:
        raise ValueError("percent out of range")
    return round_fen(Decimal(amount_fen) * Decimal(percent) / Decimal(100))


def share_of(amount_fen: int, share_bp: int) -> int:
    """The voucher's share of a (non-negative) amount, rounded half-up: 6000 bp = 60 %."""
    if amount_fen < 0 or not 0 < share_bp <= MAX_SHARE_BP:
        raise ValueError("bad amount or share")
    return round_fen(Decimal(amount_fen) * Decimal(share_bp) / Decimal(MAX_SHARE_BP))
