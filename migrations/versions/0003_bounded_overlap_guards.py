"""bookings last at most 7 days, and the overlap guards use that bound

The application already refuses bookings longer than seven days (booking.models.
MAX_BOOKING_MINUTES), and its availability and clash queries rely on it: they read only bookings
that start less than seven days before the window, so the index range stays short whatever the
history. This revision makes the bound a database guarantee (every status), and lets the
database's own overlap checks use it the same way:

PostgreSQL: CHECK (end_at - start_at <= 7 days); the downtime→booking trigger reads only the
bookings that start within seven days before the downtime (the exclusion constraint between
bookings needs no bound).

SQLite: a trigger pair that refuses longer bookings, and the overlap triggers bounded the same
way. Before, each insert read the instrument's whole booking history (0.21 ms at 2,000
bookings per instrument, growing linearly; 0.008 ms bounded, docs/benchmarks.md). Times are
stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text: whole days are added to the first 19 characters
and the fraction is kept, so the bounds compare exactly.

Revision ID: 0003_bounded_guards
Revises: 0002_overlap_guards
"""

from alembic import op

revision = "0003_bounded_guards"
down_revision = "0002_overlap_guards"
branch_labels = None
depends_on = None

HOLDING = "('pending', 'approved')"


def _downtime_function(bound: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION equipshare_downtime_vs_booking() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(7301, NEW.instrument_id);
        IF EXISTS (SELECT 1 FROM bookings b
                   WHERE b.instrument_id = NEW.instrument_id AND b.status IN {HOLDING}
                     AND b.start_at < NEW.end_at AND b.end_at > NEW.start_at{bound}) THEN
            RAISE EXCEPTION 'slot_overlap: downtime overlaps a booking' USING ERRCODE = '23P01';
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql"""


PG_UPGRADE = [
    "ALTER TABLE bookings ADD CONSTRAINT ck_bookings_at_most_7_days CHECK (end_at - start_at <= interval '7 days')",
    _downtime_function(" AND b.start_at > NEW.start_at - interval '7 days'"),
]

PG_DOWNGRADE = [
    _downtime_function(""),
    "ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ck_bookings_at_most_7_days",
]


def _shifted(column: str, days: str) -> str:
    """``column`` (SQLite's UTC text) moved by whole days, in the same format."""
    return f"(strftime('%Y-%m-%d %H:%M:%S', {column}, '{days} days') || substr({column}, 20))"


def _booking_trigger(event: str, self_clause: str, bound: str) -> str:
    of = " OF instrument_id, start_at, end_at, status" if event == "UPDATE" else ""
    return f"""CREATE TRIGGER trg_bookings_no_overlap_{event.lower()}
        BEFORE {event}{of} ON bookings FOR EACH ROW WHEN NEW.status IN {HOLDING}
        BEGIN
            SELECT RAISE(ABORT, 'slot_overlap: booking overlaps another booking or downtime')
            WHERE EXISTS (SELECT 1 FROM bookings b
                          WHERE b.instrument_id = NEW.instrument_id AND b.status IN {HOLDING}
                            AND b.start_at < NEW.end_at AND b.end_at > NEW.start_at{bound}{self_clause})
               OR EXISTS (SELECT 1 FROM downtimes d
                          WHERE d.instrument_id = NEW.instrument_id
                            AND d.start_at < NEW.end_at AND d.end_at > NEW.start_at);
        END"""


def _downtime_trigger(event: str, bound: str) -> str:
    of = " OF instrument_id, start_at, end_at" if event == "UPDATE" else ""
    return f"""CREATE TRIGGER trg_downtimes_no_overlap_{event.lower()}
        BEFORE {event}{of} ON downtimes FOR EACH ROW
        BEGIN
            SELECT RAISE(ABORT, 'slot_overlap: downtime overlaps a booking')
            WHERE EXISTS (SELECT 1 FROM bookings b
                          WHERE b.instrument_id = NEW.instrument_id AND b.status IN {HOLDING}
                            AND b.start_at < NEW.end_at AND b.end_at > NEW.start_at{bound});
        END"""


def _length_trigger(event: str) -> str:
    of = " OF start_at, end_at" if event == "UPDATE" else ""
    return f"""CREATE TRIGGER trg_bookings_at_most_7_days_{event.lower()}
        BEFORE {event}{of} ON bookings FOR EACH ROW
        WHEN NEW.end_at > {_shifted("NEW.start_at", "+7")}
        BEGIN
            SELECT RAISE(ABORT, 'booking_too_long: a booking lasts at most 7 days');
        END"""


BOUND = f" AND b.start_at > {_shifted('NEW.start_at', '-7')}"
TRIGGERS = ["trg_bookings_no_overlap_insert", "trg_bookings_no_overlap_update",
            "trg_downtimes_no_overlap_insert", "trg_downtimes_no_overlap_update"]


def _sqlite_guards(bound: str) -> list[str]:
    return [
        *[f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS],
        _booking_trigger("INSERT", "", bound),
        _booking_trigger("UPDATE", " AND b.id != NEW.id", bound),
        _downtime_trigger("INSERT", bound),
        _downtime_trigger("UPDATE", bound),
    ]


SQLITE_UPGRADE = [*_sqlite_guards(BOUND), _length_trigger("INSERT"), _length_trigger("UPDATE")]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS trg_bookings_at_most_7_days_insert",
    "DROP TRIGGER IF EXISTS trg_bookings_at_most_7_days_update",
    *_sqlite_guards(""),
]


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _run(PG_UPGRADE)
    elif dialect == "sqlite":
        _run(SQLITE_UPGRADE)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _run(PG_DOWNGRADE)
    elif dialect == "sqlite":
        _run(SQLITE_DOWNGRADE)
