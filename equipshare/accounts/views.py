"""Accounts: login, logout, registration, account page (work in progress)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from equipshare.accounts.auth import login_required, verify_password
from equipshare.accounts.models import User
from equipshare.extensions import db
from equipshare.web import safe_next_url

bp = Blueprint("accounts", __name__)


@bp.route("/auth/login", methods=["GET", "POST"])
def login():
    from equipshare.accounts.forms import LoginForm

    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is not None and user.active and verify_password(user.password_hash, form.password.data):
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            login_user(user, remember=form.remember.data)
            return redirect(safe_next_url(request.args.get("next"), url_for("catalogue.home")))
        flash(_("Wrong e-mail or password."), "danger")
    return render_template("accounts/login.html", form=form)


@bp.route("/auth/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("catalogue.home"))


@bp.route("/auth/register", methods=["GET", "POST"])
def register():
    return render_template("accounts/placeholder.html", title=_("Register"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    return render_template("accounts/placeholder.html", title=_("My account"))
