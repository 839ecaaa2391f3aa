"""Cross-cutting web pieces: language switch, health check, security headers, template helpers."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from equipshare.extensions import db
from equipshare.i18n import current_language, localized
from equipshare.money import format_fen
from equipshare.timeutil import format_local

bp = Blueprint("web", __name__)


def safe_next_url(target: str | None, fallback: str) -> str:
    """Follow a ``next`` URL only if it is a local path (no scheme, no host, no ``//``, no ``\\``)."""
    if not target:
        return fallback
    target = target.strip()
    if "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.route("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated and current_user.locale != code:
            from equipshare.accounts.services import set_locale

            set_locale(current_user, code)
    return redirect(safe_next_url(request.args.get("next"), url_for("catalogue.home")))


@bp.route("/csrf-token")
def csrf_token():
    """The session's CSRF token, for scripts that post forms with fetch()."""
    response = jsonify(csrf_token=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
def healthz():
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}


# Navigation: (endpoint, label, who sees it). Built from what is registered, so a feature's
# menu entry appears with the feature.
NAV_ITEMS = (
    ("catalogue.index", _l("Instruments"), "all"),
    ("booking.my_bookings", _l("My bookings"), "client"),
    ("accounts.org_members", _l("My organisation"), "org_admin"),
    ("booking_manage.queue", _l("Requests"), "manager"),
    ("booking_manage.agenda", _l("Agenda"), "manager"),
    ("manage.instruments", _l("My instruments"), "manager"),
    ("billing.statements", _l("Statements"), "org_admin|admin"),
    ("billing_manage.income", _l("Income"), "manager|admin"),
    ("billing_admin.vouchers_index", _l("Vouchers"), "admin"),
    ("admin.index", _l("Administration"), "admin"),
)


def _audience_ok(audience: str) -> bool:
    if "|" in audience:  # any of several audiences, e.g. "org_admin|admin"
        return any(_audience_ok(part) for part in audience.split("|"))
    if audience == "all":
        return True
    if not current_user.is_authenticated:
        return False
    if audience == "client":
        return current_user.organisation_id is not None
    if audience == "org_admin":
        return current_user.is_org_admin
    if audience == "manager":
        return current_user.is_lab_manager
    if audience == "admin":
        return current_user.is_platform_admin
    return False


def nav_items() -> list[tuple[str, str]]:
    views = current_app.view_functions
    return [
        (url_for(endpoint), label)
        for endpoint, label, audience in NAV_ITEMS
        if endpoint in views and _audience_ok(audience)
    ]


def register_web_helpers(app: Flask) -> None:
    app.jinja_env.filters["local_dt"] = format_local
    app.jinja_env.filters["fen"] = format_fen
    app.jinja_env.globals["localized"] = localized
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.globals["status_label"] = status_label

    from equipshare.permissions import can

    app.jinja_env.globals["can"] = can

    app.wsgi_app = SecurityHeaders(app.wsgi_app)


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
     "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
)

class SecurityHeaders:
    """WSGI middleware: every response (pages, errors, static files) gets the security headers
    it does not set itself (calendar feeds send their own Referrer-Policy: no-referrer). On the
    plain header list, where an after_request hook on werkzeug's Headers cost more than the
    week JSON's own work (docs/benchmarks.md)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(header for header, lower in _SECURITY if lower not in present)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


_SECURITY = tuple((header, header[0].lower()) for header in SECURITY_HEADERS)

STATUS_LABELS = {
    "pending": _l("Pending"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
    "completed": _l("Completed"),
    "no_show": _l("No-show"),
    "active": _l("Active"),
    "maintenance": _l("Maintenance"),
    "retired": _l("Retired"),
    "removed": _l("Removed"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))
