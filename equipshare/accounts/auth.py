"""Authentication plumbing: user loading, password hashing, access decorators."""

from __future__ import annotations

from functools import wraps

from flask import abort, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.security import check_password_hash, generate_password_hash

from equipshare.extensions import db, login_manager

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def load_user(user_id: str):
    from equipshare.accounts.models import User

    try:
        raw_id, raw_version = user_id.split(":", 1)
        uid, version = int(raw_id), int(raw_version)
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version:
        return None
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": {"code": "unauthorized", "message": _("Log in first."), "field": None}}), 401
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def _require(predicate):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not predicate(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


login_required = _require(lambda user: True)
platform_admin_required = _require(lambda user: user.is_platform_admin)
lab_manager_required = _require(lambda user: user.is_lab_manager)
org_admin_required = _require(lambda user: user.is_org_admin)
client_required = _require(lambda user: user.is_client)
