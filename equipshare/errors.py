"""Domain errors and their single mapping to HTML and JSON responses."""

from __future__ import annotations

from flask import Flask, flash, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """Raised by services. ``code`` is stable (API clients rely on it); ``message`` is for people."""

    status = 400
    default_code = "error"

    def __init__(self, message, code: str | None = None, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.field = field

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": str(self.message), "field": self.field}}


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class RuleViolation(DomainError):
    status = 422
    default_code = "rule_violation"


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    accept = request.environ.get("HTTP_ACCEPT", "")
    if accept == "application/json":  # what scripts send; no need to parse it
        return True
    if "json" not in accept:
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "text/html"
    ]


def flash_error(error: DomainError) -> None:
    """For HTML views that stay on a form: show the domain error as a flashed message."""
    flash(str(error.message), "danger")


def show_form_error(form, error: DomainError, field: str | None = None) -> int:
    """The one way an HTML view shows a service's refusal: end the failed unit of work (it may
    hold SQLite's write lock), put the message next to the form field it names (or ``field``),
    else flash it; return the status to answer with."""
    from equipshare.extensions import db

    db.session.rollback()
    name = field or error.field
    if form is not None and name and name in form._fields and form[name].type != "FormField":
        form[name].errors = [*form[name].errors, str(error.message)]
    else:
        flash_error(error)
    return error.status


_HTTP_TITLES = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Upload too large"),
    422: _l("Request refused"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "rule_violation",
    429: "rate_limited",
    500: "internal_error",
}


def _render(status: int, message, code: str | None = None, field: str | None = None):
    if wants_json():
        body = {"error": {"code": code or _HTTP_CODES.get(status, "error"), "message": str(message), "field": field}}
        return jsonify(body), status
    title = _HTTP_TITLES.get(status, _HTTP_TITLES[400] if status < 500 else _HTTP_TITLES[500])
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    from equipshare.extensions import db

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        db.session.rollback()
        body, status = _render(error.status, error.message, error.code, error.field)
        return body, status, getattr(error, "headers", None) or {}

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        status = error.code or 500
        if status >= 500:
            db.session.rollback()
        message = _HTTP_TITLES.get(status) if status != 400 else (error.description or _HTTP_TITLES[400])
        if status == 400 and "CSRF" in (error.description or ""):
            message = _l("Your form expired or was sent from elsewhere. Please reload the page and try again.")
        return _render(status, message or error.description)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _render(500, _HTTP_TITLES[500])
