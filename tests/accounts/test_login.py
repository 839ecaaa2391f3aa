"""Logging in and out: sessions, redirects, cookies, rate limiting."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from equipshare import create_app
from equipshare.extensions import db
from tests.conftest import EquipShareClient
from tests.factories import PASSWORD, login, make_client_user, make_user


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_login_and_logout(client):
    user = make_client_user(locale="en")
    assert client.get("/account").status_code == 302  # anonymous → login
    response = login(client, user)
    assert response.headers["Location"] == "/"
    assert user.last_login_at is not None
    assert _logged_in(client)
    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert not _logged_in(client)


def test_logout_needs_post_with_csrf(client):
    login(client, make_client_user())
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout", no_csrf=True).status_code == 400
    assert _logged_in(client)


def test_failure_does_not_tell_whether_the_email_exists(client):
    user = make_client_user()
    wrong_password = client.post("/auth/login", data={"email": user.email, "password": "not the password!"})
    unknown_email = client.post("/auth/login", data={"email": "nobody@example.com", "password": "not the password!"})
    assert wrong_password.status_code == unknown_email.status_code == 422

    def message(response):
        page = response.get_data(as_text=True)
        start = page.index('role="alert"')
        return page[start:page.index("</div>", start)]

    assert message(wrong_password) == message(unknown_email)
    assert "not correct" in message(unknown_email)
    assert not _logged_in(client)


def test_deactivated_user_cannot_log_in(client):
    user = make_client_user(active=False)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 422
    assert not _logged_in(client)


def test_login_starts_a_new_session_keeping_only_the_language(client):
    user = make_client_user()
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.get_cookie("session").value
    login(client, user)
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "en"
        assert session["_user_id"] == f"{user.id}:{user.session_version}"


@pytest.mark.parametrize("target", ["/account", "/account?tab=1"])
def test_next_is_followed_when_local(client, target):
    user = make_client_user()
    response = client.post("/auth/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com", "\\\\evil.com",
                                    "javascript:alert(1)", "http:/evil.com", " //evil.com"])
def test_next_to_another_site_is_refused(client, target):
    user = make_client_user()
    response = client.post("/auth/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=/account")


def test_remember_me_cookie_is_httponly_and_samesite(client):
    user = make_client_user()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    remember = cookies["remember_token"]
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    session_cookie = cookies["session"]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def test_without_remember_me_no_remember_cookie(client):
    user = make_client_user()
    response = login(client, user)
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_logged_in_user_visiting_login_is_redirected(client):
    login(client, make_user())
    assert client.get("/auth/login").status_code == 302


@contextmanager
def _limited_app(app, **config):
    """Another app on the same database with rate limiting on; yields (browser, client user)."""
    limited = create_app("testing", RATELIMIT_ENABLED=True, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         **config)
    limited.test_client_class = EquipShareClient
    user = make_client_user()
    db.session.commit()
    try:
        with limited.app_context():
            yield limited.test_client(), user
            db.session.remove()
    finally:
        with limited.app_context():
            db.engine.dispose()


def test_login_is_rate_limited(app):
    with _limited_app(app, LOGIN_RATE_LIMIT="3 per minute", RESET_RATE_LIMIT="2 per minute") as (browser, user):
        statuses = [browser.post("/auth/login", data={"email": user.email, "password": "wrong password!"}).status_code
                    for _ in range(4)]
        assert statuses == [422, 422, 422, 429]
        refused = browser.post("/auth/login", data={"email": user.email, "password": "wrong password!"},
                               headers={"Accept": "application/json"})
        assert refused.json["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["Retry-After"] in refused.json["error"]["message"]  # says how long to wait
        # Even the right password is refused while the limit holds.
        right = browser.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert right.status_code == 429
        assert browser.get("/auth/login").status_code == 200  # GET is not limited
        resets = [browser.post("/auth/reset", data={"email": "nobody@example.com"}).status_code for _ in range(3)]
        assert resets == [302, 302, 429]


def test_rate_limit_store_down_lets_people_log_in(app, caplog):
    # Nothing listens on port 1: the limiter cannot count, logs it, and does not lock anyone out.
    with _limited_app(app, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0") as (browser, user):
        answer = browser.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert answer.status_code == 302
        assert "Rate-limit storage unreachable" in caplog.text
