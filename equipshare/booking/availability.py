"""Free and busy time of one instrument, laid out on its slot grid for a week (or a day).

``week_availability`` is a plain function (no request, no flask globals) used by the view and by
the benchmark. It reads at most two indexed queries — slot-holding bookings and downtime that
overlap the window — and never loads who booked unless ``show_identity`` is set, so the public
page cannot leak names even by mistake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, literal_column, select, true, union_all
from sqlalchemy.orm import joinedload

from equipshare.booking.models import HOLDS_SLOT, MAX_BOOKING_MINUTES, SLOT_HOLDING, Booking, Downtime
from equipshare.booking.rules import open_weekdays
from equipshare.catalogue.models import Instrument, InstrumentStatus
from equipshare.db import ReadStatement
from equipshare.extensions import db
from equipshare.timeutil import LOCAL_TZ, week_start

MAX_ROWS = 96  # rows of the table; very fine grids are shown coarser (still on the grid)
FIRST_YEAR, LAST_YEAR = 2000, 2099  # weeks outside this range are refused (and cannot overflow)


@dataclass(frozen=True)
class Block:
    """A busy interval. ``booking`` and ``reason`` are filled only for viewers who may see them."""

    start: datetime
    end: datetime
    kind: str  # "booking" | "downtime"
    status: str | None = None  # booking status: pending or approved
    booking: Booking | None = None
    reason: str | None = None


@dataclass
class Cell:
    start: datetime  # UTC
    end: datetime
    state: str  # free | busy | downtime | closed | past
    block: Block | None = None
    span: int = 1  # table rows this cell covers; 0: covered by the cell above
    bookable: bool = False


@dataclass
class WeekView:
    instrument: Instrument
    days: list[date]
    row_minutes: list[int]  # local minute of day at which each row starts
    step: int  # minutes per row (a multiple of the instrument's slot)
    rows: list[list[Cell]] = field(default_factory=list)  # rows[r][d]
    blocks: list[Block] = field(default_factory=list)
    show_identity: bool = False
    bookable_from: datetime | None = None
    bookable_until: datetime | None = None

    @property
    def first_day(self) -> date:
        return self.days[0]

    @property
    def window_start(self) -> datetime:
        return local_start_of(self.days[0])

    @property
    def window_end(self) -> datetime:
        return local_start_of(self.days[-1] + timedelta(days=1))


def local_start_of(day: date) -> datetime:
    """Local midnight of ``day`` as an aware datetime in Asia/Shanghai."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


def in_supported_range(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


def grid_rows(instrument: Instrument) -> tuple[list[int], int]:
    """Row start minutes within opening hours, and the row length in minutes."""
    slot = instrument.slot_minutes
    first = math.ceil(instrument.open_minute / slot) * slot
    starts = list(range(first, instrument.close_minute - slot + 1, slot))
    if len(starts) <= MAX_ROWS:
        return starts, slot
    factor = math.ceil(len(starts) / MAX_ROWS)
    step = slot * factor
    return list(range(first, instrument.close_minute - slot + 1, step)), step


def load_blocks(instrument_id: int, start: datetime, end: datetime, show_identity: bool) -> list[Block]:
    """Slot-holding bookings and downtime overlapping [start, end): two indexed queries.

    The lower bound on ``start_at`` (no booking is longer than MAX_BOOKING_MINUTES) lets the
    database use ix_bookings_instrument_start as a range scan instead of reading all history.
    """
    where = (
        Booking.instrument_id == instrument_id,
        Booking.status.in_(SLOT_HOLDING),
        Booking.start_at < end,
        Booking.start_at > start - timedelta(minutes=MAX_BOOKING_MINUTES),
        Booking.end_at > start,
    )
    blocks: list[Block] = []
    if show_identity:
        bookings = db.session.scalars(
            select(Booking).where(*where)
            .options(joinedload(Booking.user), joinedload(Booking.organisation))
            .order_by(Booking.start_at)
        ).all()
        blocks += [Block(b.start_at, b.end_at, "booking", b.status, booking=b) for b in bookings]
    else:
        # Only the columns a visitor may see: no ids, no user, no organisation, no purpose.
        rows = db.session.execute(
            select(Booking.start_at, Booking.end_at, Booking.status).where(*where).order_by(Booking.start_at)
        ).all()
        blocks += [Block(r.start_at, r.end_at, "booking", r.status) for r in rows]
    downtimes = db.session.execute(
        select(Downtime.start_at, Downtime.end_at, Downtime.reason)
        .where(Downtime.instrument_id == instrument_id, Downtime.start_at < end, Downtime.end_at > start)
        .order_by(Downtime.start_at)
    ).all()
    blocks += [Block(d.start_at, d.end_at, "downtime", reason=d.reason if show_identity else None)
               for d in downtimes]
    return blocks


def _overlaps(block: Block, start: datetime, end: datetime) -> bool:
    return block.start < end and block.end > start


def _place_blocks(view: WeekView, blocks: list[Block]) -> None:
    """Mark the cells each block covers (downtime wins over a booking in a shared cell)."""
    n_rows = len(view.row_minutes)
    if not n_rows:
        return
    step = timedelta(minutes=view.step)
    for d, day in enumerate(view.days):
        grid_start = local_start_of(day) + timedelta(minutes=view.row_minutes[0])
        grid_end = grid_start + step * n_rows
        for block in sorted(blocks, key=lambda b: b.kind != "downtime"):
            if not _overlaps(block, grid_start, grid_end):
                continue
            first = max(0, math.floor((block.start - grid_start) / step))
            last = min(n_rows, math.ceil((block.end - grid_start) / step))
            for r in range(first, last):
                cell = view.rows[r][d]
                if cell.block is not None:
                    continue
                cell.state = "downtime" if block.kind == "downtime" else "busy"
                cell.block = block
                cell.bookable = False


def _merge_spans(view: WeekView) -> None:
    """Consecutive cells of one day showing the same block (or a closed day) become one cell."""
    for d in range(len(view.days)):
        head = None
        for r in range(len(view.row_minutes)):
            cell = view.rows[r][d]
            same = head is not None and (
                (cell.block is not None and cell.block is head.block)
                or (cell.state == "closed" and head.state == "closed")
            )
            if same:
                head.span += 1
                cell.span = 0
            else:
                head = cell if (cell.block is not None or cell.state == "closed") else None


def build_view(instrument: Instrument, days: list[date], now: datetime, show_identity: bool = False) -> WeekView:
    row_minutes, step = grid_rows(instrument)
    view = WeekView(instrument=instrument, days=days, row_minutes=row_minutes, step=step,
                    show_identity=show_identity)
    bookable = instrument.status == InstrumentStatus.ACTIVE
    view.bookable_from = now + timedelta(hours=instrument.min_notice_hours)
    view.bookable_until = now + timedelta(days=instrument.horizon_days)
    open_days = open_weekdays(instrument)
    view.rows = []
    for minute in row_minutes:
        row = []
        for day in days:
            start = local_start_of(day) + timedelta(minutes=minute)
            end = start + timedelta(minutes=step)
            if day.isoweekday() not in open_days:
                row.append(Cell(start, end, "closed"))
            elif start < now:
                row.append(Cell(start, end, "past"))
            else:
                ok = bookable and view.bookable_from <= start <= view.bookable_until
                row.append(Cell(start, end, "free", bookable=ok))
        view.rows.append(row)
    view.blocks = load_blocks(instrument.id, view.window_start, view.window_end, show_identity)
    _place_blocks(view, view.blocks)
    _merge_spans(view)
    return view


def week_availability(instrument: Instrument, week_start_date: date, now: datetime,
                      show_identity: bool = False) -> WeekView:
    """The week (Monday to Sunday, local) containing ``week_start_date``."""
    monday = week_start(week_start_date)
    return build_view(instrument, [monday + timedelta(days=i) for i in range(7)], now, show_identity)


def day_availability(instrument: Instrument, day: date, now: datetime, show_identity: bool = False) -> WeekView:
    return build_view(instrument, [day], now, show_identity)


def suggested_minutes(instrument: Instrument) -> int:
    """Length of the prefill for a clicked slot: the shortest allowed booking, rounded up to the grid."""
    slot = instrument.slot_minutes
    return max(slot, math.ceil(instrument.min_duration_minutes / slot) * slot)


def suggested_end(instrument: Instrument, start: datetime) -> datetime:
    """Prefill for a clicked slot: the shortest allowed booking, rounded up to the grid."""
    return start + timedelta(minutes=suggested_minutes(instrument))


def local_minute(moment: datetime, plus_minutes: int = 0) -> str:
    """``moment`` (+ minutes) as local ``YYYY-MM-DDTHH:MM``, the form of the grid's data and links."""
    return (moment + timedelta(minutes=plus_minutes)).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def as_json(view: WeekView) -> dict:
    """The public shape of a view: busy intervals without identities, times in local ISO format."""
    return {
        "instrument_id": view.instrument.id,
        "week_start": view.first_day.isoformat(),
        "days": [d.isoformat() for d in view.days],
        "slot_minutes": view.instrument.slot_minutes,
        "open_minute": view.instrument.open_minute,
        "close_minute": view.instrument.close_minute,
        "busy": [
            {"start": b.start.astimezone(LOCAL_TZ).isoformat(), "end": b.end.astimezone(LOCAL_TZ).isoformat(),
             "kind": b.kind}
            for b in view.blocks
        ],
    }


# --- the data behind the week view, without the grid ----------------------------------------------


def _window(days: list[date]) -> tuple[datetime, datetime]:
    return local_start_of(days[0]), local_start_of(days[-1] + timedelta(days=1))


def _busy_statement():
    bookings = select(Booking.start_at, Booking.end_at, literal_column("'booking'").label("kind")).where(
        Booking.instrument_id == bindparam("instrument_id"),
        HOLDS_SLOT,
        Booking.start_at < bindparam("end"),
        Booking.start_at > bindparam("earliest"),
        Booking.end_at > bindparam("start"),
    )
    downtimes = select(Downtime.start_at, Downtime.end_at, literal_column("'downtime'").label("kind")).where(
        Downtime.instrument_id == bindparam("instrument_id"),
        Downtime.start_at < bindparam("end"),
        Downtime.end_at > bindparam("start"),
    )
    both = union_all(bookings, downtimes).subquery()
    return select(both.c.start_at, both.c.end_at, both.c.kind).order_by(both.c.kind, both.c.start_at)


_BUSY = _busy_statement()  # built once: constructing it costs more than running it


def _grid_and_busy_statement():
    """The instrument's grid columns, joined to its busy intervals: one row per interval (or one
    row with NULL times when there is none); no row when the instrument does not exist."""
    busy = _BUSY.subquery()
    return (
        select(Instrument.id, Instrument.status, Instrument.slot_minutes, Instrument.open_minute,
               Instrument.close_minute, busy.c.start_at, busy.c.end_at, busy.c.kind)
        .select_from(Instrument)
        .outerjoin(busy, true())
        .where(Instrument.id == bindparam("instrument_id"))
        .order_by(busy.c.kind, busy.c.start_at)
    )


_GRID_AND_BUSY = ReadStatement(_grid_and_busy_statement())


def _params(instrument_id: int, days: list[date]) -> dict:
    start, end = _window(days)
    return {"instrument_id": instrument_id, "start": start, "end": end,
            "earliest": start - timedelta(minutes=MAX_BOOKING_MINUTES)}


def instrument_json(instrument_id: int, days: list[date], visible) -> dict | None:
    """Exactly ``as_json(build_view(instrument, days, ...))``, in one round trip and without
    building the slot grid; None when there is no such instrument or ``visible(status)`` says no
    (the caller then takes the full path, which decides)."""
    rows = _GRID_AND_BUSY.rows(db.engine, _params(instrument_id, days))
    if not rows:
        return None
    instrument, status, slot_minutes, open_minute, close_minute = rows[0][:5]
    if not visible(status):
        return None
    local = LOCAL_TZ
    return {
        "instrument_id": instrument,
        "week_start": days[0].isoformat(),
        "days": [d.isoformat() for d in days],
        "slot_minutes": slot_minutes,
        "open_minute": open_minute,
        "close_minute": close_minute,
        "busy": [
            {"start": start.astimezone(local).isoformat(), "end": end.astimezone(local).isoformat(), "kind": kind}
            for *_, start, end, kind in rows if kind is not None
        ],
    }


def window_days(week_or_day: date, day_mode: bool) -> list[date]:
    if day_mode:
        return [week_or_day]
    monday = week_start(week_or_day)
    return [monday + timedelta(days=i) for i in range(7)]
