"""A small world for the notification tests: one instrument, its manager, a client, and a
second SMTP server these tests may stop and start (the shared one must stay up)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from equipshare.booking import services
from equipshare.extensions import db
from tests.factories import make_client_user, make_instrument, make_manager

# Monday 2026-12-07 10:00 Asia/Shanghai = 02:00 UTC; requests are made a week before.
MONDAY_10 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def req(start=MONDAY_10, hours=1, purpose="XRD phase analysis"):
    return services.BookingRequest(start=start, end=start + timedelta(hours=hours), purpose=purpose, sample_count=1)


@pytest.fixture()
def world():
    instrument = make_instrument(name_en="X-ray diffractometer", name_zh="X射线衍射仪")
    manager = make_manager(instrument.lab, locale="en", name="Manager Ma")
    client_user = make_client_user(locale="en", name="Client Chen")
    db.session.commit()
    return SimpleNamespace(instrument=instrument, manager=manager, client=client_user)


class SwitchableSMTP:
    """A local SMTP server on a fixed port that a test can stop ("down") and start again."""

    def __init__(self, mailbox_cls, handler_cls):
        from tests.conftest import _free_port

        self.port = _free_port()
        self.mailbox = mailbox_cls()
        self._handler = handler_cls(self.mailbox)
        self._controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture()
def switchable_smtp(app, monkeypatch):
    from tests.conftest import Mailbox, _SMTPHandler

    server = SwitchableSMTP(Mailbox, _SMTPHandler)
    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 2)
    yield server
    server.stop()
