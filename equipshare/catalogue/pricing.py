"""Who pays which rate, and the fee quote for a planned booking."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from equipshare.accounts.models import CustomerClass, Organisation, OrgKind
from equipshare.catalogue.models import Instrument, RateCard
from equipshare.money import round_fen


def customer_class_for(org: Organisation, instrument: Instrument) -> str:
    """internal: the organisation belongs to the instrument's institution; academic: another
    university or institute; enterprise: a firm."""
    if org.institution_id is not None and org.institution_id == instrument.lab.institution_id:
        return CustomerClass.INTERNAL
    if org.kind == OrgKind.ACADEMIC:
        return CustomerClass.ACADEMIC
    return CustomerClass.ENTERPRISE


@dataclass(frozen=True)
class Quote:
    customer_class: str
    minutes: int
    samples: int
    time_fen: int
    sample_fen: int
    setup_fen: int
    total_fen: int  # max(sum, minimum charge)


def quote(rate: RateCard | None, customer_class: str, minutes: int, samples: int) -> Quote:
    """Hourly rate × booked time (per started minute, half-up to the fen), per-sample fees,
    set-up fee; at least the minimum charge. An instrument without a rate for the class costs 0."""
    if rate is None:
        return Quote(customer_class, minutes, samples, 0, 0, 0, 0)
    time_fen = round_fen(Decimal(rate.hourly_rate_fen) * Decimal(minutes) / Decimal(60))
    sample_fen = rate.per_sample_fen * samples
    setup_fen = rate.setup_fee_fen
    total = max(time_fen + sample_fen + setup_fen, rate.minimum_charge_fen)
    return Quote(customer_class, minutes, samples, time_fen, sample_fen, setup_fen, total)


def hours_label(minutes: int) -> str:
    hours = minutes / 60
    return f"{hours:g}" if hours == math.floor(hours) else f"{hours:.2f}".rstrip("0")
