"""How the lines of a statement are split between an innovation voucher and the firm.

Pure data in, pure data out (the statement service loads and locks the rows; the property
tests drive this directly). Rules:
- a line is covered by at most one grant: of the grants that cover it (same year as the
  statement, programme active and valid on the service date, customer class and instrument
  eligible), the one that pays most (ties: the oldest grant);
- the voucher pays ``share × amount`` rounded half-up, but never more than the grant's balance;
- a negative line (a correction of a billed charge) reverses voucher money the same charge
  received before, at the same share, never more than was deducted; the balance comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from equipshare.billing.rules import share_of


@dataclass
class GrantState:
    id: int
    year: int
    share_bp: int
    remaining: int  # amount − used: changes as lines are split
    customer_classes: frozenset[str]
    instrument_ids: frozenset[int]  # empty: every instrument
    valid_from: date
    valid_until: date
    active: bool = True

    def covers(self, line: LineInput, period_year: int) -> bool:
        return (
            self.active
            and line.eligible_kind
            and self.year == period_year
            and line.customer_class in self.customer_classes
            and (not self.instrument_ids or line.instrument_id in self.instrument_ids)
            and self.valid_from <= line.service_date <= self.valid_until
        )


@dataclass(frozen=True)
class LineInput:
    amount_fen: int
    chain_id: int  # the charge this line belongs to: itself, or the charge it corrects
    eligible_kind: bool  # usage fees are subsidised; late-cancellation and no-show fees are not
    customer_class: str
    instrument_id: int
    service_date: date


@dataclass(frozen=True)
class LineSplit:
    voucher_fen: int
    grant_id: int | None

    def firm_fen(self, amount_fen: int) -> int:
        return amount_fen - self.voucher_fen


def split_lines(lines: list[LineInput], grants: list[GrantState], period_year: int,
                prior: dict[tuple[int, int], int]) -> list[LineSplit]:
    """Split ``lines`` in order. ``prior[(chain_id, grant_id)]`` is the voucher money a chain has
    already received from a grant; it and each grant's ``remaining`` are updated in place."""
    by_id = {g.id: g for g in grants}
    result = []
    for line in lines:
        split = LineSplit(0, None)
        if line.amount_fen > 0:
            best = None
            for grant in sorted(grants, key=lambda g: g.id):
                if grant.remaining <= 0 or not grant.covers(line, period_year):
                    continue
                pay = min(share_of(line.amount_fen, grant.share_bp), grant.remaining)
                if best is None or pay > best[0]:
                    best = (pay, grant)
            if best is not None and best[0] > 0:
                pay, grant = best
                grant.remaining -= pay
                prior[(line.chain_id, grant.id)] = prior.get((line.chain_id, grant.id), 0) + pay
                split = LineSplit(pay, grant.id)
        elif line.amount_fen < 0:
            held = sorted(((net, -gid) for (chain, gid), net in prior.items()
                           if chain == line.chain_id and net > 0 and gid in by_id), reverse=True)
            if held:
                net, neg_gid = held[0]
                grant = by_id[-neg_gid]
                back = min(share_of(-line.amount_fen, grant.share_bp), net)
                if back > 0:
                    grant.remaining += back
                    prior[(line.chain_id, grant.id)] = net - back
                    split = LineSplit(-back, grant.id)
        result.append(split)
    return result
