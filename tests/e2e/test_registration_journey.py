"""Journey: a firm registers, the platform admin approves it, the firm logs in as a client."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from equipshare.accounts.credit_code import make_valid_code
from equipshare.accounts.models import Organisation, OrgStatus, User
from equipshare.extensions import db
from tests.e2e.conftest import log_in, log_out, screenshot, submit
from tests.factories import PASSWORD, make_admin

pytestmark = pytest.mark.e2e

FIRM = "临沂启明光电科技有限公司"
FIRM_EMAIL = "zhao.qiming@example.com"


def _register_firm(page, credit_code: str) -> None:
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("link", name="Register your organisation").first.click()
    assert page.get_by_role("heading", name="Register your organisation", level=1).is_visible()
    page.get_by_label("Firm (enterprise)").check()
    page.get_by_label("Name of the organisation").fill(FIRM)
    page.get_by_label("Unified social credit code (firms)").fill(credit_code)
    page.get_by_label("Contact person").fill("赵启明")
    page.get_by_label("Contact phone").fill("0539-8123456")
    page.get_by_label("Contact e-mail").fill("office@qiming.example.com")
    page.get_by_label("Your name").fill("赵启明")
    page.get_by_label("Your e-mail (used to log in)").fill(FIRM_EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    screenshot(page, "register-filled")
    submit(page, "Register")


def test_firm_registers_is_approved_and_logs_in(page, mailbox):
    admin = make_admin(email="admin@example.com", locale="en")
    db.session.commit()
    credit_code = make_valid_code("91371302MA3F7K2P1")

    # A bad credit code is refused on the form, and nothing is registered.
    _register_firm(page, credit_code[:-1] + ("0" if credit_code[-1] != "0" else "1"))
    assert "/auth/register" in page.url
    assert page.get_by_text("This is not a valid unified social credit code").is_visible()
    db.session.rollback()
    assert db.session.scalar(select(Organisation).where(Organisation.name == FIRM)) is None

    _register_firm(page, credit_code)
    assert "/auth/login" in page.url
    assert page.get_by_role("alert").filter(has_text="awaiting approval").is_visible()

    # Before approval the firm can log in but is told it is waiting.
    log_in(page, FIRM_EMAIL, PASSWORD)
    assert page.get_by_text("awaiting approval").first.is_visible()
    log_out(page)

    # The platform admin approves it.
    log_in(page, admin.email, PASSWORD)
    page.goto("/admin/organisations")
    with page.expect_navigation():
        page.get_by_role("link", name=FIRM).click()
    assert re.search(r"/admin/organisations/\d+$", page.url)
    assert page.get_by_text(credit_code).is_visible()
    page.get_by_label(re.compile("^Reason")).fill("Business licence checked.")
    screenshot(page, "admin-decision")
    submit(page, "Approve")
    assert page.get_by_role("alert").filter(has_text="has been approved").is_visible()
    db.session.rollback()
    org = db.session.scalar(select(Organisation).where(Organisation.name == FIRM))
    assert org.status == OrgStatus.APPROVED and org.credit_code == credit_code
    mailbox.wait_for(1)
    assert mailbox.to(FIRM_EMAIL) or mailbox.to("office@qiming.example.com")
    log_out(page)

    # The firm logs in as an approved client.
    log_in(page, FIRM_EMAIL, PASSWORD)
    assert page.get_by_text("awaiting approval").count() == 0
    page.goto("/account")
    assert page.get_by_text("Approved").first.is_visible()
    screenshot(page, "firm-approved-account")
    db.session.rollback()
    user = db.session.scalar(select(User).where(User.email == FIRM_EMAIL))
    assert user.is_client and user.is_org_admin
