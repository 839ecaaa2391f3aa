"""Declarative base, naming convention, the UTC datetime type and write-transaction helpers."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL stores ``timestamptz``. SQLite stores naive UTC in SQLAlchemy's fixed
    ``YYYY-MM-DD HH:MM:SS.ffffff`` text format, so string comparison is chronological
    (the overlap triggers rely on that). Naive datetimes are refused: a naive time is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def configure_sqlite(engine: Engine) -> None:
    """Let us choose BEGIN vs BEGIN IMMEDIATE per transaction on SQLite.

    pysqlite's own transaction handling is switched off; we emit BEGIN ourselves. A
    transaction opened through :func:`begin_write` is ``BEGIN IMMEDIATE`` so that two
    processes cannot both pass an availability check; reads stay deferred and never queue.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def begin_write(session) -> None:
    """Start the current unit of work as a write transaction.

    Call it first thing in a service function that writes. Whatever transaction the session
    had open is ended first (committed: views only read, so normally there is nothing in it;
    test set-up may have flushed rows) — on PostgreSQL a transaction that only read simply
    goes on, its objects expired. Objects are expired and reload inside the new
    transaction, under the lock, so checks made after this see the latest committed state.
    On PostgreSQL nothing is locked here; services lock the rows they change with
    ``SELECT … FOR UPDATE``.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.in_transaction():
        if session.get_bind().dialect.name == "postgresql" and only_read(session):
            # READ COMMITTED: every statement already sees the latest committed state, so
            # expiring the objects reloads them from it; no COMMIT and BEGIN round trips for a
            # transaction that only read.
            session.expire_all()
            return
        session.commit()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_immediate": True})


def ping_idle_connections(engine: Engine, idle_seconds: int | None) -> None:
    """Ping a pooled connection before use only when it has sat idle for ``idle_seconds``; if
    the ping fails, the pool replaces it (DisconnectionError). A busy connection is not pinged:
    if the server restarts under load, the first statement on each stale connection fails and
    SQLAlchemy then discards the whole pool."""
    if idle_seconds is None or engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.pop("idle_since", None)
        if since is not None and time.monotonic() - since >= idle_seconds:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise DisconnectionError("connection went away while idle") from exc


def _mark_wrote(session, _context) -> None:
    session.info["wrote"] = True


def _clear_wrote(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("wrote", None)


def only_read(session) -> bool:
    """The session's open transaction has flushed nothing and holds no unflushed changes."""
    return not (session.info.get("wrote") or session.new or session.dirty or session.deleted)


def track_writes() -> None:
    """Remember in ``session.info`` whether the open transaction has flushed anything."""
    if not event.contains(Session, "after_flush", _mark_wrote):
        event.listen(Session, "after_flush", _mark_wrote)
        event.listen(Session, "after_transaction_end", _clear_wrote)


def end_read_only_transaction(session) -> None:
    """At the end of a request, COMMIT a transaction that only read, instead of letting the
    teardown roll it back. Same effect for the data; but psycopg forgets every prepared
    statement of the connection on ROLLBACK, so with rollbacks no statement stayed prepared
    from one request to the next and PostgreSQL parsed and planned each one every time
    (docs/benchmarks.md). A transaction that wrote anything, or holds unflushed changes, is
    left alone and the teardown rolls it back as before.
    """
    if not session.in_transaction() or not only_read(session):
        return
    try:
        session.commit()
    except Exception:  # e.g. the connection broke; the teardown's rollback cleans up
        logging.getLogger(__name__).warning("could not end a read-only transaction", exc_info=True)


class ReadStatement:
    """One read-only statement for the hottest public reads, run outside the request's session.

    A single SELECT is one snapshot, so it needs no transaction: in autocommit there is no
    BEGIN/ROLLBACK round trip and nothing for the teardown to roll back. The statement is
    compiled once per dialect and sent straight to the driver (psycopg prepares it after a few
    runs), with the column types' own bind and result processors applied (so SQLite's datetime
    text still comes back as aware UTC datetimes). That skips SQLAlchemy's per-execution work,
    which was a tenth of a millisecond of the week JSON (docs/benchmarks.md). Rows are plain
    sequences in the statement's column order.
    """

    def __init__(self, statement):
        self.statement = statement
        self._prepared: dict = {}

    def _prepare(self, dialect):
        compiled = self.statement.compile(dialect=dialect)
        binds = {name: processor for name, bind in compiled.binds.items()
                 if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))}
        results = [(index, processor) for index, column in enumerate(self.statement.selected_columns)
                   if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None))]
        return compiled, binds, results

    def rows(self, engine: Engine, params: dict) -> list:
        dialect = engine.dialect
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            prepared = self._prepared[dialect.name] = self._prepare(dialect)
        compiled, binds, results = prepared
        values = compiled.construct_params(params)
        for name, processor in binds.items():
            values[name] = processor(values[name])
        if compiled.positiontup is not None:  # SQLite's "?" placeholders
            values = [values[name] for name in compiled.positiontup]
        autocommit = dialect.name == "postgresql"  # SQLite: no BEGIN is sent outside SQLAlchemy
        pooled = engine.raw_connection()
        try:
            conn = pooled.driver_connection
            if autocommit:
                conn.autocommit = True
            try:
                cursor = conn.cursor()
                cursor.execute(compiled.string, values)
                rows = cursor.fetchall()
                cursor.close()
            finally:
                if autocommit and not conn.closed:
                    conn.autocommit = False
        finally:
            pooled.close()  # a connection the server closed fails its reset here and is discarded
        if not results:
            return rows
        processed = []
        for row in rows:
            row = list(row)
            for index, process in results:
                row[index] = process(row[index])
            processed.append(row)
        return processed
