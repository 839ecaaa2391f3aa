"""booking overlap guards: no two slot-holding bookings, and no booking and downtime, overlap

PostgreSQL: an exclusion constraint between slot-holding bookings (btree_gist), and a trigger
pair between bookings and downtime that first takes a per-instrument advisory lock, so two
concurrent transactions cannot both pass the cross-table check.

SQLite: BEFORE INSERT/UPDATE triggers that abort on overlap. Write transactions begin with
BEGIN IMMEDIATE (equipshare.db.begin_write), so the check and the write are serialised.
Timestamps are stored in one fixed UTC text format, so string comparison is chronological.

Both raise with the text "slot_overlap"; equipshare.booking.services maps it to a Conflict.

Revision ID: 0002_overlap_guards
Revises: 0001_initial
"""

from alembic import op

revision = "0002_overlap_guards"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

HOLDING = "('pending', 'approved')"

PG_UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    f"""ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap
        EXCLUDE USING gist (instrument_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&)
        WHERE (status IN {HOLDING})""",
    f"""CREATE OR REPLACE FUNCTION equipshare_booking_vs_downtime() RETURNS trigger AS $$
    BEGIN
        IF NEW.status IN {HOLDING} THEN
            PERFORM pg_advisory_xact_lock(7301, NEW.instrument_id);
            IF EXISTS (SELECT 1 FROM downtimes d
                       WHERE d.instrument_id = NEW.instrument_id
                         AND d.start_at < NEW.end_at AND d.end_at > NEW.start_at) THEN
                RAISE EXCEPTION 'slot_overlap: booking overlaps downtime' USING ERRCODE = '23P01';
            END IF;
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION equipshare_downtime_vs_booking() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(7301, NEW.instrument_id);
        IF EXISTS (SELECT 1 FROM bookings b
                   WHERE b.instrument_id = NEW.instrument_id AND b.status IN {HOLDING}
                     AND b.start_at < NEW.end_at AND b.end_at > NEW.start_at) THEN
            RAISE EXCEPTION 'slot_overlap: downtime overlaps a booking' USING ERRCODE = '23P01';
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER trg_bookings_vs_downtime
        BEFORE INSERT OR UPDATE OF instrument_id, start_at, end_at, status ON bookings
        FOR EACH ROW EXECUTE FUNCTION equipshare_booking_vs_downtime()""",
    """CREATE TRIGGER trg_downtimes_vs_bookings
        BEFORE INSERT OR UPDATE OF instrument_id, start_at, end_at ON downtimes
        FOR EACH ROW EXECUTE FUNCTION equipshare_downtime_vs_booking()""",
]

PG_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS trg_downtimes_vs_bookings ON downtimes",
    "DROP TRIGGER IF EXISTS trg_bookings_vs_downtime ON bookings",
    "DROP FUNCTION IF EXISTS equipshare_downtime_vs_booking()",
    "DROP FUNCTION IF EXISTS equipshare_booking_vs_downtime()",
    "ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_no_overlap",
]


def _sqlite_booking_trigger(event: str, self_clause: str) -> str:
    when = f"NEW.status IN {HOLDING}"
    of = " OF instrument_id, start_at, end_at, status" if event == "UPDATE" else ""
    return f"""CREATE TRIGGER trg_bookings_no_overlap_{event.lower()}
        BEFORE {event}{of} ON bookings FOR EACH ROW WHEN {when}
        BEGIN
            SELECT RAISE(ABORT, 'slot_overlap: booking overlaps another booking or downtime')
            WHERE EXISTS (SELECT 1 FROM bookings b
                          WHERE b.instrument_id = NEW.instrument_id AND b.status IN {HOLDING}
                            AND b.start_at < NEW.end_at AND b.end_at > NEW.start_at{self_clause})
               OR EXISTS (SELECT 1 FROM downtimes d
                          WHERE d.instrument_id = NEW.instrument_id
                            AND d.start_at < NEW.end_at AND d.end_at > NEW.start_at);
        END"""


def _sqlite_downtime_trigger(event: str) -> str:
    of = " OF instrument_id, start_at, end_at" if event == "UPDATE" else ""
    return f"""CREATE TRIGGER trg_downtimes_no_overlap_{event.lower()}
        BEFORE {event}{of} ON downtimes FOR EACH ROW
        BEGIN
            SELECT RAISE(ABORT, 'slot_overlap: downtime overlaps a booking')
            WHERE EXISTS (SELECT 1 FROM bookings b
                          WHERE b.instrument_id = NEW.instrument_id AND b.status IN {HOLDING}
                            AND b.start_at < NEW.end_at AND b.end_at > NEW.start_at);
        END"""


SQLITE_UPGRADE = [
    _sqlite_booking_trigger("INSERT", ""),
    _sqlite_booking_trigger("UPDATE", " AND b.id != NEW.id"),
    _sqlite_downtime_trigger("INSERT"),
    _sqlite_downtime_trigger("UPDATE"),
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_insert",
    "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_update",
    "DROP TRIGGER IF EXISTS trg_downtimes_no_overlap_insert",
    "DROP TRIGGER IF EXISTS trg_downtimes_no_overlap_update",
]


# --- billing: issued statements, their lines and billed charges are immutable; the voucher
# ledger and charge events are append-only. Raised as "billing_immutable" (SQLSTATE 23001). ---
BILLING_APPEND_ONLY = ("statements", "statement_lines", "voucher_ledger_entries", "charge_events")

BILLING_PG_UPGRADE = [
    """CREATE OR REPLACE FUNCTION equipshare_billing_immutable() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'billing_immutable: % of % refused: issued billing records never change',
            TG_OP, TG_TABLE_NAME USING ERRCODE = '23001';
    END $$ LANGUAGE plpgsql""",
    *[f"""CREATE TRIGGER trg_{table}_immutable BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION equipshare_billing_immutable()""" for table in BILLING_APPEND_ONLY],
    """CREATE TRIGGER trg_charges_immutable BEFORE UPDATE OR DELETE ON charges
        FOR EACH ROW WHEN (OLD.statement_id IS NOT NULL) EXECUTE FUNCTION equipshare_billing_immutable()""",
]

BILLING_PG_DOWNGRADE = [
    *[f"DROP TRIGGER IF EXISTS trg_{table}_immutable ON {table}" for table in (*BILLING_APPEND_ONLY, "charges")],
    "DROP FUNCTION IF EXISTS equipshare_billing_immutable()",
]


def _sqlite_immutable(table: str, event: str, when: str = "") -> str:
    return f"""CREATE TRIGGER trg_{table}_immutable_{event.lower()} BEFORE {event} ON {table} FOR EACH ROW{when}
        BEGIN
            SELECT RAISE(ABORT, 'billing_immutable: {event} of {table} refused: issued billing records never change');
        END"""


BILLING_SQLITE_UPGRADE = [
    *[_sqlite_immutable(table, event) for table in BILLING_APPEND_ONLY for event in ("UPDATE", "DELETE")],
    *[_sqlite_immutable("charges", event, " WHEN OLD.statement_id IS NOT NULL") for event in ("UPDATE", "DELETE")],
]

BILLING_SQLITE_DOWNGRADE = [
    f"DROP TRIGGER IF EXISTS trg_{table}_immutable_{event}"
    for table in (*BILLING_APPEND_ONLY, "charges") for event in ("update", "delete")
]

PG_UPGRADE += BILLING_PG_UPGRADE
PG_DOWNGRADE[:0] = BILLING_PG_DOWNGRADE
SQLITE_UPGRADE += BILLING_SQLITE_UPGRADE
SQLITE_DOWNGRADE[:0] = BILLING_SQLITE_DOWNGRADE


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
