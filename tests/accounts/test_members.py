"""Organisation admins invite, accept, remove, promote and demote members; nobody else may."""

from __future__ import annotations

from datetime import timedelta

import pytest

from equipshare.accounts import services
from equipshare.accounts.models import Invitation, MemberRole, MemberStatus, OrgStatus, User
from equipshare.db import utcnow
from equipshare.extensions import db
from tests.accounts.conftest import link_in
from tests.factories import PASSWORD, login, make_admin, make_client_user, make_org, make_user


@pytest.fixture()
def org_admin():
    return make_client_user(org_admin=True, locale="en", name="Org Admin")


def _invite(client, email):
    return client.post("/org/members/invite", data={"email": email})


def test_invitation_end_to_end(client, make_client, mailbox, org_admin):
    login(client, org_admin)
    assert _invite(client, "New.Colleague@Example.com").status_code == 302
    invitation = db.session.scalar(db.select(Invitation))
    assert invitation.email == "new.colleague@example.com"
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    assert "new.colleague@example.com" in client.get("/org/members").get_data(as_text=True)

    mailbox.wait_for(1)
    message = mailbox.to("new.colleague@example.com")[0]
    assert org_admin.organisation.name in message["Subject"]
    path = link_in(message, "/auth/invite/")
    assert invitation.token_hash == services.token_hash(path.rsplit("/", 1)[1])

    invitee = make_client()
    page = invitee.get(path)
    assert page.status_code == 200 and "new.colleague@example.com" in page.get_data(as_text=True)
    response = invitee.post(path, data={"name": "New Colleague", "password": PASSWORD, "password_confirm": PASSWORD})
    assert response.status_code == 302
    member = db.session.scalar(db.select(User).where(User.email == "new.colleague@example.com"))
    assert (member.organisation_id, member.member_status, member.org_role) == (
        org_admin.organisation_id, MemberStatus.ACTIVE, MemberRole.MEMBER)
    assert member.is_client and invitation.accepted_at is not None
    assert invitee.get("/account").status_code == 200  # logged in as the new member

    # Single use.
    third = make_client()
    assert third.get(path).status_code == 400
    assert third.post(path, data={"name": "Someone", "password": PASSWORD, "password_confirm": PASSWORD}).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 2


def test_expired_and_withdrawn_invitations_are_refused(client, make_client, mailbox, org_admin):
    db.session.commit()
    services.invite_member(org_admin, org_admin.organisation, "late@example.com", utcnow() - timedelta(days=8))
    mailbox.wait_for(1)
    expired_path = link_in(mailbox[0], "/auth/invite/")
    invitee = make_client()
    assert invitee.get(expired_path).status_code == 400

    login(client, org_admin)
    _invite(client, "withdrawn@example.com")
    mailbox.wait_for(2)
    path = link_in(mailbox.to("withdrawn@example.com")[0], "/auth/invite/")
    invitation = db.session.scalar(db.select(Invitation).where(Invitation.email == "withdrawn@example.com"))
    assert client.post(f"/org/invitations/{invitation.id}/revoke").status_code == 302
    assert invitee.get(path).status_code == 400
    assert invitee.post(path, data={"name": "X", "password": PASSWORD, "password_confirm": PASSWORD}).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


@pytest.mark.parametrize("email", ["not-an-email", "x" * 250 + "@example.com", "nul\x00@example.com"])
def test_bad_invitation_addresses_are_refused(client, mailbox, org_admin, email):
    login(client, org_admin)
    response = _invite(client, email)
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(Invitation)) == 0
    mailbox.deliver()  # send whatever was queued (nothing should have been)
    assert len(mailbox) == 0


def test_inviting_an_existing_account_is_refused(client, mailbox, org_admin):
    make_user(email="taken@example.com")
    login(client, org_admin)
    response = _invite(client, "TAKEN@example.com")
    assert response.status_code == 422 and 'id="email-err"' in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Invitation)) == 0


@pytest.mark.parametrize("decision, status", [("approve", MemberStatus.ACTIVE), ("reject", MemberStatus.REMOVED)])
def test_join_requests_are_decided_and_mailed(client, mailbox, org_admin, decision, status):
    applicant = make_user(org_admin.organisation, member_status=MemberStatus.PENDING, locale="en")
    login(client, org_admin)
    page = client.get("/org/members").get_data(as_text=True)
    assert applicant.email in page and f"/org/members/{applicant.id}/decide" in page
    response = client.post(f"/org/members/{applicant.id}/decide", data={"decision": decision})
    assert response.status_code == 302
    assert applicant.member_status == status
    assert applicant.is_client == (decision == "approve")
    mailbox.wait_for(1)
    subject = mailbox.to(applicant.email)[0]["Subject"]
    assert ("approved" if decision == "approve" else "declined") in subject
    # Decided once only.
    assert client.post(f"/org/members/{applicant.id}/decide", data={"decision": "approve"}).status_code == 409


def test_removed_member_can_no_longer_act_for_the_organisation(client, make_client, org_admin):
    member = make_user(org_admin.organisation, locale="en")
    assert member.is_client
    member_browser = make_client()
    login(member_browser, member)
    login(client, org_admin)
    assert client.post(f"/org/members/{member.id}/remove").status_code == 302
    assert member.member_status == MemberStatus.REMOVED
    assert not member.is_client and not member.is_org_admin
    assert "no longer a member" in member_browser.get("/account").get_data(as_text=True)


def test_last_admin_cannot_be_removed_or_demoted(client, org_admin):
    login(client, org_admin)
    page = client.get("/org/members").get_data(as_text=True)
    assert f"/org/members/{org_admin.id}/remove" not in page  # no button the server would refuse
    for path, data in ((f"/org/members/{org_admin.id}/remove", {}),
                       (f"/org/members/{org_admin.id}/role", {"role": "member"})):
        response = client.post(path, data=data)
        assert response.status_code == 302 and response.headers["Location"] == "/org/members"
        assert "at least one administrator" in client.get("/org/members").get_data(as_text=True)
        assert org_admin.is_org_admin and org_admin.member_status == MemberStatus.ACTIVE


def test_last_admin_rule_in_the_service(org_admin):
    db.session.commit()
    with pytest.raises(services.RuleViolation) as excinfo:
        services.remove_member(org_admin, org_admin, utcnow())
    assert excinfo.value.code == "last_admin"
    db.session.rollback()
    with pytest.raises(services.RuleViolation):
        services.set_member_role(org_admin, org_admin, MemberRole.MEMBER, utcnow())
    db.session.rollback()
    assert org_admin.is_org_admin


def test_promote_and_demote(client, org_admin):
    member = make_user(org_admin.organisation)
    login(client, org_admin)
    assert client.post(f"/org/members/{member.id}/role", data={"role": "admin"}).status_code == 302
    assert member.is_org_admin
    # With two admins, one may step down; then the other is the last one.
    response = client.post(f"/org/members/{org_admin.id}/role", data={"role": "member"})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert not org_admin.is_org_admin and member.is_org_admin
    assert client.get("/org/members").status_code == 403
    assert client.post(f"/org/members/{member.id}/role", data={"role": "member"}).status_code == 403
    assert member.is_org_admin


def test_bad_role_is_refused(client, org_admin):
    member = make_user(org_admin.organisation)
    login(client, org_admin)
    assert client.post(f"/org/members/{member.id}/role", data={"role": "owner"}).status_code == 400
    assert member.org_role == MemberRole.MEMBER


def test_org_admin_cannot_see_or_manage_another_organisations_members(client, org_admin):
    other_org = make_org()
    other_admin = make_user(other_org, org_admin=True)
    outsider = make_user(other_org, name="Outsider Person")
    pending = make_user(other_org, member_status=MemberStatus.PENDING)
    db.session.commit()
    other_invitation = services.invite_member(other_admin, other_org, "invitee@example.com", utcnow())
    login(client, org_admin)

    assert "Outsider Person" not in client.get("/org/members").get_data(as_text=True)
    assert client.post(f"/org/members/{outsider.id}/remove").status_code == 403
    assert client.post(f"/org/members/{outsider.id}/role", data={"role": "admin"}).status_code == 403
    assert client.post(f"/org/members/{pending.id}/decide", data={"decision": "approve"}).status_code == 403
    assert client.post(f"/org/invitations/{other_invitation.id}/revoke").status_code == 403
    assert client.post("/org/members/999999/remove").status_code == 404
    assert client.post("/org/invitations/999999/revoke").status_code == 404
    assert outsider.member_status == MemberStatus.ACTIVE and outsider.org_role == MemberRole.MEMBER
    assert pending.member_status == MemberStatus.PENDING and other_invitation.revoked_at is None


@pytest.mark.parametrize("who", ["member", "pending_admin", "platform_admin"])
def test_non_org_admins_get_403(client, who):
    org = make_org()
    user = {"member": lambda: make_user(org),
            "pending_admin": lambda: make_user(org, org_admin=True, member_status=MemberStatus.PENDING),
            "platform_admin": lambda: make_admin()}[who]()
    target = make_user(org)
    login(client, user)
    assert client.get("/org/members").status_code == 403
    assert client.post("/org/members/invite", data={"email": "x@example.com"}).status_code == 403
    assert client.post(f"/org/members/{target.id}/remove").status_code == 403
    assert target.member_status == MemberStatus.ACTIVE


def test_anonymous_is_sent_to_login(client):
    member = make_client_user()
    response = client.get("/org/members")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=/org/members")
    assert client.post(f"/org/members/{member.id}/remove").status_code == 302
    assert member.member_status == MemberStatus.ACTIVE


def test_members_page_of_a_pending_organisation(client):
    org = make_org(status=OrgStatus.PENDING)
    admin = make_user(org, org_admin=True, locale="en")
    login(client, admin)
    assert "awaiting approval" in client.get("/org/members").get_data(as_text=True)


# --- account page ------------------------------------------------------------------------------


def test_account_page_updates_name_phone_and_language(client):
    user = make_client_user(locale="en")
    login(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert user.organisation.name in page and user.email in page
    response = client.post("/account", data={"name": "Zhang Wei", "phone": "+86 539 1234567", "locale": "zh"})
    assert response.status_code == 302
    assert (user.name, user.phone, user.locale) == ("Zhang Wei", "+86 539 1234567", "zh")
    assert 'lang="zh-CN"' in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize("data", [{"name": "", "locale": "en"}, {"name": "x" * 101, "locale": "en"},
                                  {"name": "Zhang\x00", "locale": "en"}, {"name": "Zhang", "locale": "fr"},
                                  {"name": "Zhang", "phone": "p" * 41, "locale": "en"}])
def test_account_page_refuses_bad_input(client, data):
    user = make_client_user(locale="en", name="Original Name")
    login(client, user)
    assert client.post("/account", data=data).status_code == 422
    assert (user.name, user.locale) == ("Original Name", "en")


def test_account_page_of_a_user_without_organisation(client):
    login(client, make_admin(locale="en"))
    page = client.get("/account").get_data(as_text=True)
    assert "does not belong to a client organisation" in page
