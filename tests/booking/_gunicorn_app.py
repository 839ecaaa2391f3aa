"""WSGI entry point for the multi-process tests and benchmarks: the real application, in the
test configuration, on the database named by EQUIPSHARE_SERVER_DB (the test database).

    EQUIPSHARE_SERVER_DB=sqlite:////tmp/x.sqlite gunicorn -w 4 tests.booking._gunicorn_app:app

CSRF stays on: clients send the session cookie and token of a user logged in beforehand.
Mails are not sent (no MAIL_SERVER): only the database behaviour is under test.
"""

from __future__ import annotations

import os

from equipshare import create_app

_url = os.environ["EQUIPSHARE_SERVER_DB"]
if _url.startswith("postgresql://"):
    _url = "postgresql+psycopg://" + _url[len("postgresql://"):]

app = create_app("testing", SQLALCHEMY_DATABASE_URI=_url, MAIL_SERVER=None)
