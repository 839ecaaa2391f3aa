"""Forgotten passwords (e-mailed single-use links) and changing a password."""

from __future__ import annotations

from datetime import timedelta

import pytest

from equipshare.accounts import services
from equipshare.accounts.auth import verify_password
from equipshare.accounts.models import PasswordResetToken
from equipshare.db import utcnow
from equipshare.extensions import db
from tests.accounts.conftest import link_in
from tests.factories import PASSWORD, login, make_client_user

NEW_PASSWORD = "a brand new passphrase 42"


def _ask_for_reset(client, email):
    response = client.post("/auth/reset", data={"email": email})
    assert response.status_code == 302
    return response


def test_reset_flow_end_to_end(client, mailbox, make_client):
    user = make_client_user(locale="en", email="reset.me@example.com")
    other_browser = make_client()
    login(other_browser, user)
    version = user.session_version

    _ask_for_reset(client, "Reset.Me@Example.com")
    mailbox.wait_for(1)
    message = mailbox.to("reset.me@example.com")[0]
    assert message["Subject"] == "Reset your EquipShare password"
    assert message.get_body(preferencelist=("html",)) is not None
    path = link_in(message, "/auth/reset/")

    # Only the hash of the token is stored.
    token = path.rsplit("/", 1)[1]
    record = db.session.scalar(db.select(PasswordResetToken))
    assert record.token_hash == services.token_hash(token) and token not in record.token_hash
    assert record.expires_at - record.created_at == timedelta(minutes=60)

    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert user.session_version == version + 1
    assert other_browser.get("/account").status_code == 302  # other sessions ended

    # The link works once.
    assert client.get(path).status_code == 400
    again = client.post(path, data={"password": "yet another passphrase", "password_confirm": "yet another passphrase"})
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    assert verify_password(user.password_hash, NEW_PASSWORD)

    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 422
    login(client, user, NEW_PASSWORD)


def test_unknown_email_gets_the_same_answer_and_no_mail(client, mailbox):
    make_client_user(email="known@example.com")

    def answer(email):
        response = _ask_for_reset(client, email)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        start = page.index('role="alert"')
        return response.headers["Location"], page[start:page.index("</div>", start)].replace(email, "ADDRESS")

    known = answer("known@example.com")
    mailbox.wait_for(1)
    unknown = answer("unknown@example.com")
    assert known == unknown and "If an account exists" in known[1]
    mailbox.deliver()  # send whatever was queued for the unknown address (nothing should have been)
    assert len(mailbox) == 1 and mailbox.to("unknown@example.com") == []
    assert db.session.scalar(db.select(db.func.count()).select_from(PasswordResetToken)) == 1


def test_expired_link_is_refused(client, mailbox):
    user = make_client_user(locale="en")
    db.session.commit()
    services.request_password_reset(user.email, utcnow() - timedelta(minutes=61))
    mailbox.wait_for(1)
    path = link_in(mailbox[0], "/auth/reset/")
    response = client.get(path)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert verify_password(user.password_hash, PASSWORD)


@pytest.mark.parametrize("token", ["nonsense", "x" * 300, "%00"])
def test_made_up_links_are_refused(client, token):
    assert client.get(f"/auth/reset/{token}").status_code == 400


def test_reset_refuses_a_short_password_and_keeps_the_link(client, mailbox):
    user = make_client_user(locale="en")
    _ask_for_reset(client, user.email)
    mailbox.wait_for(1)
    path = link_in(mailbox[0], "/auth/reset/")
    response = client.post(path, data={"password": "short", "password_confirm": "short"})
    assert response.status_code == 422
    assert verify_password(user.password_hash, PASSWORD)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("locale, html_lang", [("zh", 'lang="zh-CN"'), ("en", 'lang="en"')])
def test_reset_mail_is_in_the_users_language(client, mailbox, locale, html_lang):
    # The browser asking is English (conftest); the mail follows the account's language.
    user = make_client_user(locale=locale)
    _ask_for_reset(client, user.email)
    mailbox.wait_for(1)
    html = mailbox[0].get_body(preferencelist=("html",)).get_content()
    assert html_lang in html


# --- changing the password -----------------------------------------------------------------------


def test_change_password_keeps_this_session_and_ends_the_others(client, make_client):
    user = make_client_user(locale="en")
    login(client, user)
    other = make_client()
    login(other, user)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_change_password_needs_the_current_one(client):
    user = make_client_user(locale="en")
    login(client, user)
    version = user.session_version
    response = client.post("/account/password", data={
        "current_password": "wrong current pw", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 422
    assert 'id="current_password-err"' in response.get_data(as_text=True)
    assert verify_password(user.password_hash, PASSWORD) and user.session_version == version


@pytest.mark.parametrize("new, confirm", [("short", "short"), (NEW_PASSWORD, NEW_PASSWORD + "x"),
                                          ("n" * 129, "n" * 129), ("nul\x00byte password", "nul\x00byte password")])
def test_change_password_refuses_bad_new_passwords(client, new, confirm):
    user = make_client_user()
    login(client, user)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "password": new, "password_confirm": confirm})
    assert response.status_code == 422
    assert verify_password(user.password_hash, PASSWORD)


def test_change_password_needs_login(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
