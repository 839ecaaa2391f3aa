"""The platform admin approves or rejects organisations; the applicant is told."""

from __future__ import annotations

import pytest

from equipshare.accounts.models import Organisation, OrgStatus
from equipshare.extensions import db
from tests.accounts.conftest import firm_form
from tests.factories import login, make_admin, make_client_user, make_manager, make_org, make_user


def _registered_org(client) -> Organisation:
    assert client.post("/auth/register", data=firm_form()).status_code == 302
    return db.session.scalar(db.select(Organisation))


def test_firm_registers_admin_approves_firm_logs_in(client, make_client, mailbox):
    org = _registered_org(client)
    applicant = org.members[0]
    applicant.locale = "en"

    admin_browser = make_client()
    login(admin_browser, make_admin(locale="en"))
    listing = admin_browser.get("/admin/organisations").get_data(as_text=True)  # pending by default
    assert org.name in listing
    detail = admin_browser.get(f"/admin/organisations/{org.id}").get_data(as_text=True)
    assert org.credit_code in detail and 'name="reason"' in detail and 'value="approve"' in detail

    response = admin_browser.post(f"/admin/organisations/{org.id}/decide", data={"decision": "approve", "reason": ""})
    assert response.status_code == 302
    assert org.status == OrgStatus.APPROVED and org.decided_at is not None
    assert applicant.is_client

    mailbox.wait_for(1)
    message = mailbox.to(applicant.email)[0]
    assert "approved" in message["Subject"]
    assert "http://equipshare.test/auth/login" in mailbox.body(message)

    login(client, applicant)
    assert "awaiting approval" not in client.get("/account").get_data(as_text=True)


def test_reject_needs_a_reason_which_the_applicant_sees(client, make_client, mailbox):
    org = _registered_org(client)
    applicant = org.members[0]
    applicant.locale = "en"
    admin_browser = make_client()
    login(admin_browser, make_admin())

    response = admin_browser.post(f"/admin/organisations/{org.id}/decide", data={"decision": "reject", "reason": "  "})
    assert response.status_code == 422
    assert 'id="reason-err"' in response.get_data(as_text=True)
    assert org.status == OrgStatus.PENDING
    mailbox.deliver()  # send whatever was queued (nothing should have been)
    assert len(mailbox) == 0

    reason = "The credit code belongs to another firm <b>ACME</b>."
    response = admin_browser.post(f"/admin/organisations/{org.id}/decide", data={"decision": "reject", "reason": reason})
    assert response.status_code == 302
    assert (org.status, org.decision_reason) == (OrgStatus.REJECTED, reason)

    mailbox.wait_for(1)
    message = mailbox.to(applicant.email)[0]
    assert reason in mailbox.body(message)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;ACME&lt;/b&gt;" in html  # escaped in the HTML part

    login(client, applicant)
    page = client.get("/account").get_data(as_text=True)
    assert "declined" in page and "&lt;b&gt;ACME&lt;/b&gt;" in page
    assert not applicant.is_client


def test_a_rejected_organisation_can_be_reconsidered_but_not_decided_twice(client, mailbox):
    org = make_org(status=OrgStatus.REJECTED, decision_reason="Missing documents")
    make_user(org, org_admin=True)
    approved = make_org(status=OrgStatus.APPROVED)
    login(client, make_admin())
    assert client.post(f"/admin/organisations/{approved.id}/decide",
                       data={"decision": "reject", "reason": "Changed my mind"}).status_code == 409
    assert client.post(f"/admin/organisations/{org.id}/decide",
                       data={"decision": "reject", "reason": "again"}).status_code == 409
    assert client.post(f"/admin/organisations/{org.id}/decide", data={"decision": "approve"}).status_code == 302
    assert org.status == OrgStatus.APPROVED and approved.status == OrgStatus.APPROVED
    mailbox.wait_for(1)


@pytest.mark.parametrize("data", [{"decision": "maybe"}, {"decision": ""}, {"decision": "approve", "reason": "x" * 2001},
                                  {"decision": "reject", "reason": "bad\x00reason"}])
def test_bad_decisions_are_refused(client, mailbox, data):
    org = make_org(status=OrgStatus.PENDING)
    login(client, make_admin())
    assert client.post(f"/admin/organisations/{org.id}/decide", data=data).status_code == 422
    assert org.status == OrgStatus.PENDING and org.decision_reason is None
    mailbox.deliver()  # send whatever was queued (nothing should have been)
    assert len(mailbox) == 0


def test_list_filters_by_status(client):
    pending = make_org(status=OrgStatus.PENDING, name="Pending Firm")
    make_org(status=OrgStatus.APPROVED, name="Approved Firm")
    make_org(status=OrgStatus.REJECTED, name="Rejected Firm")
    login(client, make_admin())

    def names(status):
        return {n for n in ("Pending Firm", "Approved Firm", "Rejected Firm")
                if n in client.get("/admin/organisations", query_string={"status": status}).get_data(as_text=True)}

    assert names("pending") == {"Pending Firm"}
    assert names("approved") == {"Approved Firm"}
    assert names("rejected") == {"Rejected Firm"}
    assert names("all") == {"Pending Firm", "Approved Firm", "Rejected Firm"}
    assert names("<script>") == {"Pending Firm"}  # unknown filter falls back to pending
    assert client.get(f"/admin/organisations/{pending.id}").status_code == 200


def test_unknown_organisation_is_404(client):
    login(client, make_admin())
    assert client.get("/admin/organisations/999999").status_code == 404
    assert client.post("/admin/organisations/999999/decide", data={"decision": "approve"}).status_code == 404


@pytest.mark.parametrize("who", ["client", "org_admin", "manager"])
def test_non_admins_get_403(client, who):
    org = make_org(status=OrgStatus.PENDING)
    user = {"client": lambda: make_client_user(), "org_admin": lambda: make_client_user(org_admin=True),
            "manager": lambda: make_manager()}[who]()
    login(client, user)
    assert client.get("/admin/organisations").status_code == 403
    assert client.get(f"/admin/organisations/{org.id}").status_code == 403
    assert client.post(f"/admin/organisations/{org.id}/decide", data={"decision": "approve"}).status_code == 403
    assert org.status == OrgStatus.PENDING


def test_anonymous_is_sent_to_login(client):
    org = make_org(status=OrgStatus.PENDING)
    for path in ("/admin/organisations", f"/admin/organisations/{org.id}"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=")
    assert client.post(f"/admin/organisations/{org.id}/decide", data={"decision": "approve"}).status_code == 302
    assert org.status == OrgStatus.PENDING


def test_decision_stands_when_the_mail_cannot_be_sent(client, monkeypatch, mailbox):
    from datetime import timedelta

    from equipshare.db import utcnow
    from equipshare.notifications import sender
    from equipshare.notifications.models import OutboxMessage

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("SMTP is down")

    monkeypatch.setattr(sender, "deliver", smtp_down)
    org = make_org(status=OrgStatus.PENDING)
    make_user(org, org_admin=True)
    login(client, make_admin())
    response = client.post(f"/admin/organisations/{org.id}/decide", data={"decision": "approve"})
    assert response.status_code == 302
    assert org.status == OrgStatus.APPROVED
    mailbox.deliver()
    message = db.session.scalar(db.select(OutboxMessage))
    assert message.status == "pending" and "SMTP is down" in message.last_error  # kept, retried later
    monkeypatch.undo()
    sender.deliver_due(utcnow() + timedelta(hours=1))
    mailbox.wait_for(1)
