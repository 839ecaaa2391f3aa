"""Accounts test helpers. Tests read English pages: the anonymous browser picks English, and
users made here have locale "en" (a logged-in user's own language wins)."""

from __future__ import annotations

import re

import pytest

from equipshare.accounts.models import Organisation, User
from equipshare.extensions import db
from tests.factories import PASSWORD, VALID_CREDIT_CODE


@pytest.fixture(autouse=True)
def english(client):
    client.get("/lang/en")


def firm_form(**overrides) -> dict:
    data = {
        "org_kind": "enterprise",
        "org_name": "临沂新材料科技有限公司",
        "credit_code": VALID_CREDIT_CODE,
        "institution_id": "0",
        "institution_name": "",
        "contact_name": "王芳",
        "contact_phone": "0539-8888888",
        "contact_email": "office@xincailiao.example.com",
        "name": "Wang Fang",
        "email": "Wang.Fang@XinCaiLiao.example.com",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    data.update(overrides)
    return data


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(db.select(db.func.count()).select_from(Organisation)),
        db.session.scalar(db.select(db.func.count()).select_from(User)),
    )


def link_in(message, path_prefix: str) -> str:
    """The path of the first link to ``path_prefix`` in a mail's text part (absolute on
    SERVER_BASE_URL)."""
    from tests.conftest import Mailbox

    body = Mailbox.body(message)
    match = re.search(r"http://equipshare\.test(" + re.escape(path_prefix) + r"[^\s]+)", body)
    assert match, body
    return match.group(1)
