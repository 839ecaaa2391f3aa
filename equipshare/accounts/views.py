"""Accounts: log in and out, registration, passwords, account page, organisation members.

Each view: load (404) → permission (403) → validate the form → one service → flash + redirect.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from equipshare import ratelimit
from equipshare.accounts import forms, services
from equipshare.accounts import permissions as perms
from equipshare.accounts.auth import login_required, org_admin_required
from equipshare.accounts.models import Invitation, MemberStatus, OrgStatus, User
from equipshare.catalogue.models import Institution
from equipshare.db import utcnow
from equipshare.errors import RuleViolation, show_form_error
from equipshare.extensions import db
from equipshare.i18n import current_language, localized
from equipshare.web import safe_next_url

bp = Blueprint("accounts", __name__)


def _me() -> User:
    return current_user._get_current_object()


def _form_status() -> int:
    return 422 if request.method == "POST" else 200


def start_session(user: User, remember: bool = False) -> None:
    """A fresh session for a fresh login: nothing of the anonymous session survives except the
    language choice (no session fixation)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user, remember=remember, fresh=True)


def _status_notice(user: User) -> None:
    org = user.organisation
    if org is None:
        return
    if user.member_status == MemberStatus.PENDING:
        flash(_("Your request to join %(org)s is waiting for its administrator.", org=org.name), "info")
    elif user.member_status == MemberStatus.REMOVED:
        flash(_("You are no longer a member of %(org)s.", org=org.name), "warning")
    elif org.status == OrgStatus.PENDING:
        flash(_("%(org)s is awaiting approval by the platform administrator.", org=org.name), "info")
    elif org.status == OrgStatus.REJECTED:
        flash(_("The registration of %(org)s was declined. See your account page for the reason.", org=org.name),
              "warning")


# --- logging in and out ------------------------------------------------------------------------


@bp.route("/auth/login", methods=["GET", "POST"])
@ratelimit.limit("LOGIN_RATE_LIMIT")
def login():
    target = safe_next_url(request.args.get("next"), url_for("catalogue.home"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(target)
    form = forms.LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data, utcnow())
        if user is not None:
            start_session(user, remember=form.remember.data)
            _status_notice(user)
            return redirect(target)
        flash(_("The e-mail address or password is not correct."), "danger")
    return render_template("accounts/login.html", form=form), _form_status()


@bp.route("/auth/logout", methods=["POST"])
def logout():
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("catalogue.home"))


# --- registration ------------------------------------------------------------------------------


def _institution_choices():
    institutions = db.session.scalars(select(Institution).order_by(Institution.name_zh))
    return [(inst, localized(inst, "name")) for inst in institutions]


@bp.route("/auth/register", methods=["GET", "POST"])
def register():
    form = forms.RegistrationForm()
    form.set_institution_choices(_institution_choices())
    if form.validate_on_submit():
        values = services.Registration(
            org_kind=form.org_kind.data, org_name=form.org_name.data, credit_code=form.credit_code.data,
            institution_id=form.institution_id.data or None, institution_name=form.institution_name.data,
            contact_name=form.contact_name.data, contact_phone=form.contact_phone.data,
            contact_email=form.contact_email.data, name=form.name.data, email=form.email.data,
            password=form.password.data, locale=current_language(),
        )
        try:
            services.register_organisation(values, utcnow())
        except RuleViolation as error:
            show_form_error(form, error)
        else:
            flash(_("Thank you. Your organisation is registered and awaiting approval by the platform "
                    "administrator; we will e-mail you the decision. You can log in to see its status."), "success")
            return redirect(url_for(".login"))
    return render_template("accounts/register.html", form=form), _form_status()


@bp.route("/auth/join", methods=["GET", "POST"])
def join():
    form = forms.JoinRequestForm()
    if form.validate_on_submit():
        try:
            services.request_to_join(form.credit_code.data, form.name.data, form.phone.data, form.email.data,
                                     form.password.data, current_language(), utcnow())
        except RuleViolation as error:
            show_form_error(form, error)
        else:
            flash(_("Your request was sent to the organisation's administrator. You can log in to see its "
                    "status; we will e-mail you the decision."), "success")
            return redirect(url_for(".login"))
    return render_template("accounts/join.html", form=form), _form_status()


@bp.route("/auth/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = services.find_invitation(token, utcnow())
    if invitation is None:
        return render_template("accounts/token_invalid.html", reset=False), 400
    form = forms.AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(token, form.name.data, form.password.data, utcnow())
        except RuleViolation as error:
            if error.code == "token_invalid":
                return render_template("accounts/token_invalid.html", reset=False), 400
            show_form_error(form, error)
        else:
            start_session(user)
            flash(_("Welcome! You are now a member of %(org)s.", org=user.organisation.name), "success")
            return redirect(url_for("catalogue.home"))
    return render_template("accounts/accept_invitation.html", form=form, invitation=invitation), _form_status()


# --- passwords ---------------------------------------------------------------------------------


@bp.route("/auth/reset", methods=["GET", "POST"])
@ratelimit.limit("RESET_RATE_LIMIT")
def forgot_password():
    form = forms.ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data, utcnow())
        flash(_("If an account exists for %(email)s, we have sent it a link to choose a new password. "
                "The link expires in %(n)d minutes.", email=form.email.data,
                n=current_app.config["PASSWORD_RESET_TTL_MINUTES"]), "info")
        return redirect(url_for(".login"))
    return render_template("accounts/forgot_password.html", form=form), _form_status()


@bp.route("/auth/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if services.find_reset_token(token, utcnow()) is None:
        return render_template("accounts/token_invalid.html", reset=True), 400
    form = forms.ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data, utcnow())
        except RuleViolation as error:
            if error.code == "token_invalid":
                return render_template("accounts/token_invalid.html", reset=True), 400
            show_form_error(form, error)
        else:
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password has been changed. Please log in with the new password."), "success")
            return redirect(url_for(".login"))
    return render_template("accounts/reset_password.html", form=form), _form_status()


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = forms.ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = services.change_password(_me(), form.current_password.data, form.password.data, utcnow())
        except RuleViolation as error:
            show_form_error(form, error)
        else:
            # The new session_version ended every session; this browser stays logged in.
            remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            start_session(user, remember=remember_cookie in request.cookies)
            flash(_("Your password has been changed. Your other sessions have been logged out."), "success")
            return redirect(url_for(".account"))
    return render_template("accounts/change_password.html", form=form), _form_status()


# --- account page ------------------------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = forms.AccountForm(obj=current_user)
    if form.validate_on_submit():
        try:
            services.update_account(_me(), form.name.data, form.phone.data, form.locale.data, utcnow())
        except RuleViolation as error:
            show_form_error(form, error)
        else:
            session["lang"] = form.locale.data
            flash(_("Your details have been saved."), "success")
            return redirect(url_for(".account"))
    return render_template("accounts/account.html", form=form, user=current_user,
                           org=current_user.organisation), _form_status()


# --- organisation members (organisation admin) ------------------------------------------------


def _members_page(invite_form=None, status: int = 200):
    org = current_user.organisation
    members = sorted(org.members, key=lambda m: (m.member_status != MemberStatus.ACTIVE, m.name.lower()))
    now = utcnow()
    invitations = db.session.scalars(
        select(Invitation).where(Invitation.organisation_id == org.id, Invitation.accepted_at.is_(None),
                                 Invitation.revoked_at.is_(None), Invitation.expires_at > now)
        .order_by(Invitation.created_at.desc())
    ).all()
    return render_template(
        "accounts/org_members.html", org=org, members=members, invitations=invitations,
        invite_form=invite_form or forms.InviteForm(formdata=None), action_form=forms.EmptyForm(),
    ), status


@bp.route("/org/members")
@org_admin_required
def org_members():
    return _members_page()


@bp.route("/org/members/invite", methods=["POST"])
@org_admin_required
def invite_member():
    org = current_user.organisation
    if not perms.can_manage_org_members(current_user, org):
        abort(403)
    form = forms.InviteForm()
    if form.validate_on_submit():
        try:
            services.invite_member(_me(), org, form.email.data, utcnow())
        except RuleViolation as error:
            show_form_error(form, error)
        else:
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for(".org_members"))
    return _members_page(form, 422)


@bp.route("/org/invitations/<int:invitation_id>/revoke", methods=["POST"])
@org_admin_required
def revoke_invitation(invitation_id: int):
    invitation = db.get_or_404(Invitation, invitation_id)
    if not perms.can_manage_org_members(current_user, invitation.organisation):
        abort(403)
    if not forms.EmptyForm().validate_on_submit():
        abort(400)
    services.revoke_invitation(_me(), invitation, utcnow())
    flash(_("The invitation has been withdrawn."), "info")
    return redirect(url_for(".org_members"))


def _load_member(user_id: int, allowed) -> User:
    member = db.get_or_404(User, user_id)
    if member.organisation_id is None or not perms.can_manage_org_members(current_user, member.organisation):
        abort(403)
    if not allowed(current_user, member):
        abort(409)
    return member


@bp.route("/org/members/<int:user_id>/decide", methods=["POST"])
@org_admin_required
def decide_join_request(user_id: int):
    member = _load_member(user_id, perms.can_decide_join_request)
    form = forms.DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    approve = form.decision.data == "approve"
    services.decide_join_request(_me(), member, approve, utcnow())
    flash(_("%(name)s is now a member.", name=member.name) if approve
          else _("The request of %(name)s was declined.", name=member.name), "success")
    return redirect(url_for(".org_members"))


@bp.route("/org/members/<int:user_id>/remove", methods=["POST"])
@org_admin_required
def remove_member(user_id: int):
    member = _load_member(user_id, lambda u, m: m.member_status == MemberStatus.ACTIVE)
    if not forms.EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.remove_member(_me(), member, utcnow())
    except RuleViolation as error:
        show_form_error(None, error)
    else:
        flash(_("%(name)s has been removed from the organisation.", name=member.name), "success")
    return redirect(url_for(".org_members"))


@bp.route("/org/members/<int:user_id>/role", methods=["POST"])
@org_admin_required
def set_member_role(user_id: int):
    member = _load_member(user_id, lambda u, m: m.member_status == MemberStatus.ACTIVE)
    form = forms.RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_member_role(_me(), member, form.role.data, utcnow())
    except RuleViolation as error:
        show_form_error(None, error)
    else:
        flash(_("The role of %(name)s has been changed.", name=member.name), "success")
    if not current_user.is_org_admin:  # demoted oneself
        return redirect(url_for(".account"))
    return redirect(url_for(".org_members"))
