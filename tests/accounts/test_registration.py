"""Registering an organisation with its first user, asking to join one, and every refusal."""

from __future__ import annotations

import pytest

from equipshare.accounts.models import MemberRole, MemberStatus, Organisation, OrgStatus, User
from equipshare.extensions import db
from tests.accounts.conftest import counts, firm_form
from tests.factories import PASSWORD, VALID_CREDIT_CODE, login, make_institution, make_org


def test_firm_registers_and_sees_awaiting_approval(client):
    response = client.post("/auth/register", data=firm_form())
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")

    org = db.session.scalar(db.select(Organisation))
    assert (org.name, org.kind, org.credit_code, org.status) == (
        "临沂新材料科技有限公司", "enterprise", VALID_CREDIT_CODE, OrgStatus.PENDING)
    assert org.contact_email == "office@xincailiao.example.com"
    user = org.members[0]
    assert user.email == "wang.fang@xincailiao.example.com"  # stored lower-case
    assert (user.org_role, user.member_status) == (MemberRole.ADMIN, MemberStatus.ACTIVE)
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    assert user.is_org_admin and not user.is_client

    # Logging in (with the e-mail in another case) shows the status.
    response = client.post("/auth/login", data={"email": "WANG.FANG@xincailiao.example.com", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "awaiting approval" in page and "临沂新材料科技有限公司" in page


def test_credit_code_is_normalised(client):
    response = client.post("/auth/register", data=firm_form(credit_code=" " + VALID_CREDIT_CODE.lower() + " "))
    assert response.status_code == 302
    assert db.session.scalar(db.select(Organisation.credit_code)) == VALID_CREDIT_CODE


def test_academic_user_picks_an_institution_on_the_platform(client):
    institution = make_institution(name_zh="临沂大学", name_en="Linyi University")
    response = client.post("/auth/register", data=firm_form(
        org_kind="academic", org_name="", credit_code="", institution_id=str(institution.id)))
    assert response.status_code == 302
    org = db.session.scalar(db.select(Organisation))
    assert (org.kind, org.institution_id, org.credit_code, org.name) == ("academic", institution.id, None, "临沂大学")


def test_academic_user_types_another_institution(client):
    response = client.post("/auth/register", data=firm_form(
        org_kind="academic", org_name="Materials group", credit_code="", institution_name="山东大学"))
    assert response.status_code == 302
    org = db.session.scalar(db.select(Organisation))
    assert (org.institution_id, org.institution_name, org.name) == (None, "山东大学", "Materials group")


def test_register_page_renders_with_named_fields(client):
    make_institution(name_en="Linyi University")
    page = client.get("/auth/register").get_data(as_text=True)
    for name in ("org_kind", "org_name", "credit_code", "institution_id", "institution_name", "contact_name",
                 "contact_phone", "contact_email", "name", "email", "password", "password_confirm"):
        assert f'name="{name}"' in page
    assert "Linyi University" in page


BAD_INPUT = {
    "invalid check character": ({"credit_code": VALID_CREDIT_CODE[:-1] + "0"}, "credit_code"),
    "credit code too long": ({"credit_code": VALID_CREDIT_CODE + "1"}, "credit_code"),
    "firm without credit code": ({"credit_code": ""}, "credit_code"),
    "firm without name": ({"org_name": ""}, "org_name"),
    "oversize organisation name": ({"org_name": "x" * 201}, "org_name"),
    "oversize contact name": ({"contact_name": "x" * 101}, "contact_name"),
    "NUL in name": ({"name": "Wang\x00Fang"}, "name"),
    "control character in organisation": ({"org_name": "ACME\x07"}, "org_name"),
    "bad e-mail": ({"email": "not-an-address"}, "email"),
    "bad phone": ({"contact_phone": "call me"}, "contact_phone"),
    "short password": ({"password": "short", "password_confirm": "short"}, "password"),
    "long password": ({"password": "p" * 129, "password_confirm": "p" * 129}, "password"),
    "passwords differ": ({"password_confirm": PASSWORD + "!"}, "password_confirm"),
    "unknown kind": ({"org_kind": "government"}, "org_kind"),
    "tampered institution id": ({"org_kind": "academic", "institution_id": "999999"}, "institution_id"),
    "academic without institution": ({"org_kind": "academic", "credit_code": ""}, "institution_name"),
}


@pytest.mark.parametrize("overrides, field", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_registration_is_refused_and_writes_nothing(client, overrides, field):
    response = client.post("/auth/register", data=firm_form(**overrides))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-err"' in page
    assert counts() == (0, 0)


def test_duplicate_credit_code_is_refused(client):
    make_org(credit_code=VALID_CREDIT_CODE)
    response = client.post("/auth/register", data=firm_form())
    assert response.status_code == 422
    assert "already registered" in response.get_data(as_text=True)
    assert counts() == (1, 0)


def test_duplicate_email_is_refused_whatever_its_case(client):
    client.post("/auth/register", data=firm_form())
    assert counts() == (1, 1)
    from equipshare.accounts.credit_code import make_valid_code

    response = client.post("/auth/register", data=firm_form(
        credit_code=make_valid_code("91371300MA3C4D5E7"), email="WANG.FANG@xincailiao.EXAMPLE.com"))
    assert response.status_code == 422
    assert 'id="email-err"' in response.get_data(as_text=True)
    assert counts() == (1, 1)


def test_missing_csrf_token_is_refused(client):
    response = client.post("/auth/register", data=firm_form(), no_csrf=True)
    assert response.status_code == 400
    assert counts() == (0, 0)


# --- asking to join an existing organisation ---------------------------------------------------


def test_join_request_creates_a_pending_member(client):
    org = make_org(credit_code=VALID_CREDIT_CODE)
    response = client.post("/auth/join", data={
        "credit_code": VALID_CREDIT_CODE, "name": "Li Lei", "phone": "", "email": "li.lei@example.com",
        "password": PASSWORD, "password_confirm": PASSWORD})
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).where(User.email == "li.lei@example.com"))
    assert (user.organisation_id, user.member_status, user.org_role) == (org.id, MemberStatus.PENDING, "member")
    assert not user.is_client and not user.is_org_admin
    login(client, user)
    assert "waiting for its administrator" in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize("code", ["91371300MA3C4D5E7X", "12345"])
def test_join_request_for_unknown_or_invalid_code_is_refused(client, code):
    make_org(credit_code=VALID_CREDIT_CODE)
    response = client.post("/auth/join", data={
        "credit_code": code, "name": "Li Lei", "email": "li.lei@example.com",
        "password": PASSWORD, "password_confirm": PASSWORD})
    assert response.status_code == 422
    assert db.session.scalar(db.select(User).where(User.email == "li.lei@example.com")) is None


def test_join_request_for_a_rejected_organisation_is_refused(client):
    make_org(credit_code=VALID_CREDIT_CODE, status=OrgStatus.REJECTED)
    response = client.post("/auth/join", data={
        "credit_code": VALID_CREDIT_CODE, "name": "Li Lei", "email": "li.lei@example.com",
        "password": PASSWORD, "password_confirm": PASSWORD})
    assert response.status_code == 422
    assert counts() == (1, 0)


def test_a_duplicate_that_slips_past_the_check_is_still_refused(client, monkeypatch):
    """Two people registering the same address at the same moment: the unique constraint
    catches the second one, and it gets the same form error, not a 500."""
    from equipshare.accounts import services

    client.post("/auth/register", data=firm_form())
    monkeypatch.setattr(services, "_email_taken", lambda email: False)
    from equipshare.accounts.credit_code import make_valid_code

    response = client.post("/auth/register", data=firm_form(credit_code=make_valid_code("91371300MA3C4D5E7")))
    assert response.status_code == 422 and 'id="email-err"' in response.get_data(as_text=True)
    assert counts() == (1, 1)
