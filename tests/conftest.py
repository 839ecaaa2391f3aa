"""Test fixtures.

Backend: SQLite (a temporary file) by default; PostgreSQL when TEST_DATABASE_URL is set. With
EQUIPSHARE_REQUIRE_POSTGRES=1 (CI) a missing PostgreSQL is an error, never a skip.

Each test runs inside an app context (so it can use ``db.session`` and the factories). The
test client runs every request in a fresh context of its own, as a real server would: before a
request the test's session is committed (so the request sees what the test set up), after it
the test's objects are expired (so the test sees what the request wrote).
"""

from __future__ import annotations

import contextvars
import os
import socket
import time
from contextlib import contextmanager
from email import message_from_bytes, policy
from functools import lru_cache

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, text

from equipshare import create_app
from equipshare.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
REQUIRE_POSTGRES = os.environ.get("EQUIPSHARE_REQUIRE_POSTGRES") == "1"


def pytest_report_header(config):
    backend = "postgresql" if TEST_DATABASE_URL else "sqlite"
    return [f"equipshare database backend: {backend}"]


# --- SMTP ------------------------------------------------------------------------------------


class Mailbox(list):
    """Messages received by the local SMTP server, parsed as email.message.EmailMessage."""

    def wait_for(self, count: int, timeout: float = 5.0):
        self.deliver()
        deadline = time.monotonic() + timeout
        while len(self) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self) >= count, f"expected {count} mails, got {len(self)}"
        return self

    @staticmethod
    def deliver() -> dict:
        """Mails are queued in the outbox and sent by a job (issue 4): run that job once now, as
        the scheduler would, so what the test did reaches this server."""
        from flask import has_app_context

        from equipshare.notifications.sender import deliver_due

        return deliver_due() if has_app_context() else {}

    def to(self, address: str):
        return [m for m in self if address.lower() in m["To"].lower()]

    @staticmethod
    def body(message) -> str:
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""


class _SMTPHandler:
    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.mailbox.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(_SMTPHandler(mailbox), hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture()
def mailbox(smtp_server):
    _, box = smtp_server
    box.clear()
    return box


# --- Application and database -----------------------------------------------------------------


def _reset_postgres_schema(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if TEST_DATABASE_URL:
        try:
            _reset_postgres_schema(TEST_DATABASE_URL)
        except Exception as exc:  # noqa: BLE001
            if REQUIRE_POSTGRES:
                pytest.exit(f"PostgreSQL is required but not reachable: {exc}", returncode=3)
            raise
        return TEST_DATABASE_URL
    if REQUIRE_POSTGRES:
        pytest.exit("EQUIPSHARE_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set", returncode=3)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def compile_translations() -> None:
    """Compile the committed .po catalogues (the .mo files are build output, not in git)."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent / "equipshare" / "translations"
    for po_path in root.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        with po_path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)


@pytest.fixture(scope="session")
def app(database_url, smtp_server, tmp_path_factory):
    from flask_migrate import upgrade

    compile_translations()
    controller, _ = smtp_server
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url if not database_url.startswith("postgresql://")
        else database_url.replace("postgresql://", "postgresql+psycopg://", 1),
        UPLOAD_FOLDER=str(tmp_path_factory.mktemp("uploads")),
        MAIL_SERVER=controller.hostname,
        MAIL_PORT=controller.port,
        # The product's default language is Chinese (config.Config); tests read English so that
        # their assertions stay readable. tests/test_i18n.py checks the real default on its own app.
        BABEL_DEFAULT_LOCALE="en",
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


@lru_cache(maxsize=1)
def _is_superuser() -> bool:
    return bool(db.session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")))


def _clean_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql" and _is_superuser():
        # Faster than TRUNCATE, which syncs a new file per table to disk (~0.7 s per test on a
        # busy machine). "replica" skips the foreign-key and immutability triggers (superuser only).
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        for name in tables:
            db.session.execute(text(f'DELETE FROM "{name}"'))
        db.session.execute(text("SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
                                "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"))
    elif db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    else:
        # users ↔ organisations reference each other (decided_by_id): check the keys at commit.
        db.session.execute(text("PRAGMA defer_foreign_keys=ON"))
        # Billing's immutability triggers refuse DELETE: lift them for the clean-up only.
        guards = db.session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'trg_%_immutable_%'")).all()
        for name, _sql in guards:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))
        for name in tables:
            db.session.execute(text(f'DELETE FROM "{name}"'))
        for _name, sql in guards:
            db.session.execute(text(sql))
    db.session.commit()


@pytest.fixture(autouse=True)
def app_ctx(app):
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()
        _clean_tables()
        db.session.remove()


# --- Test client -------------------------------------------------------------------------------

class EquipShareClient(FlaskClient):
    """Sends the CSRF token with form posts (CSRF stays on in tests) and runs each request in a
    fresh context, like a separate server process would."""

    def csrf_token(self) -> str:
        response = self._open_isolated("/csrf-token")
        return response.get_json()["csrf_token"]

    def _open_isolated(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)

    def open(self, *args, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        data = kwargs.get("data")
        if method in {"POST", "PUT", "PATCH", "DELETE"} and not kwargs.pop("no_csrf", False):
            if isinstance(data, dict) and "csrf_token" not in data:
                kwargs["data"] = {**data, "csrf_token": self.csrf_token()}
            elif data is None and "json" not in kwargs:
                kwargs["data"] = {"csrf_token": self.csrf_token()}
        db.session.commit()
        try:
            return self._open_isolated(*args, **kwargs)
        finally:
            db.session.expire_all()


@pytest.fixture()
def client(app):
    app.test_client_class = EquipShareClient
    return app.test_client()


@pytest.fixture()
def make_client(app):
    """A second (third…) independent browser."""
    app.test_client_class = EquipShareClient
    return app.test_client


# --- Query counting ------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture()
def count_queries(app):
    """``with count_queries() as q: client.get(...)`` then ``q.count``."""

    @contextmanager
    def counter():
        q = QueryCounter()

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")):
                q.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        # equipshare.db.ReadStatement sends its one statement straight to the driver, past
        # SQLAlchemy's events: count each of its runs too.
        with pytest.MonkeyPatch.context() as patch:
            from equipshare.db import ReadStatement

            rows = ReadStatement.rows

            def counted_rows(self, engine, params):
                q.statements.append(str(self.statement))
                return rows(self, engine, params)

            patch.setattr(ReadStatement, "rows", counted_rows)
            try:
                yield q
            finally:
                event.remove(db.engine, "before_cursor_execute", before)

    return counter
