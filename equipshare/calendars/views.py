"""Calendar feeds: the owner's management pages (/feeds/), the public feed (/feeds/<token>.ics)
and a booking's single-event download."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.http import is_resource_modified

from equipshare.accounts.auth import login_required
from equipshare.booking.models import Booking
from equipshare.calendars import logredact, services
from equipshare.calendars.forms import FeedForm
from equipshare.calendars.models import FeedToken
from equipshare.calendars.permissions import can_download_booking_ics, can_manage_feed
from equipshare.db import utcnow
from equipshare.errors import DomainError, NotFound, show_form_error
from equipshare.extensions import db

bp = Blueprint("calendars", __name__)
bp.record_once(lambda state: logredact.install(state.app))

CALENDAR_MIMETYPE = "text/calendar; charset=utf-8"


@bp.after_request
def _no_referrer(response):
    # Feed pages show secret URLs, and feed URLs are secrets: never send them on as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "calendars.feed":
        response.headers["Cache-Control"] = "no-store"
    return response


# --- management pages ------------------------------------------------------------------------------


def _form() -> FeedForm:
    form = FeedForm()
    form.scope.choices = services.scope_choices(current_user)
    return form


def _render_index(form: FeedForm, status: int = 200):
    new = session.pop(services.NEW_TOKEN_SESSION_KEY, None)
    new_feed = urls = None
    if new:
        new_feed = db.session.get(FeedToken, new.get("feed_id"))
        if new_feed is not None and can_manage_feed(current_user, new_feed):
            urls = services.feed_urls(new["token"])
        else:
            new_feed = None
    return render_template("calendars/index.html", feeds=services.feeds_of(current_user), form=form,
                           new_feed=new_feed, new_urls=urls), status


@bp.route("/feeds/")
@login_required
def index():
    return _render_index(_form())


def _remember_new_token(feed: FeedToken, token: str) -> None:
    # Shown once, on the next page: only the token's hash is stored.
    session[services.NEW_TOKEN_SESSION_KEY] = {"feed_id": feed.id, "token": token}


@bp.route("/feeds/new", methods=["POST"])
@login_required
def create():
    form = _form()
    if not form.scope.choices:
        abort(403)
    if not form.validate_on_submit():
        return _render_index(form, 422)
    try:
        feed, token = services.create_feed(current_user, form.name.data, form.scope.data, utcnow())
    except DomainError as error:
        return _render_index(form, show_form_error(form, error))
    _remember_new_token(feed, token)
    flash(_("Feed “%(name)s” created. Copy its address now: it is shown only once.", name=feed.name), "success")
    return redirect(url_for(".index"))


def _load_own_feed(feed_id: int) -> FeedToken:
    feed = db.session.get(FeedToken, feed_id)
    if feed is None:
        abort(404)
    if not can_manage_feed(current_user, feed):
        abort(403)
    return feed


@bp.route("/feeds/<int:feed_id>/revoke", methods=["POST"])
@login_required
def revoke(feed_id: int):
    _load_own_feed(feed_id)
    feed = services.revoke_feed(current_user, feed_id, utcnow())
    flash(_("Feed “%(name)s” revoked: its address no longer works.", name=feed.name), "success")
    return redirect(url_for(".index"))


@bp.route("/feeds/<int:feed_id>/regenerate", methods=["POST"])
@login_required
def regenerate(feed_id: int):
    _load_own_feed(feed_id)
    feed, token = services.regenerate_feed(current_user, feed_id, utcnow())
    _remember_new_token(feed, token)
    flash(_("Feed “%(name)s” has a new address; the old one no longer works. Copy it now: it is shown only once.",
            name=feed.name), "success")
    return redirect(url_for(".index"))


# --- the subscription itself ---------------------------------------------------------------------


def _not_found() -> Response:
    # One answer for unknown, malformed, revoked and no-longer-allowed tokens.
    response = Response("Not found\n", 404, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/feeds/<token>.ics")
def feed(token: str):
    """GET and HEAD. Conditional requests are answered from the validator, before any build."""

    def not_modified(etag, last_modified) -> bool:
        return not is_resource_modified(request.environ, etag=etag, last_modified=last_modified)

    try:
        result = services.fetch_feed(token, utcnow(), not_modified)
    except NotFound:
        return _not_found()
    if result.body is None:
        response = Response(status=304)
    else:
        response = Response(result.body, content_type=CALENDAR_MIMETYPE)
        response.headers["Content-Disposition"] = 'inline; filename="equipshare.ics"'
    response.set_etag(result.etag)
    response.last_modified = result.last_modified
    response.headers["Cache-Control"] = "private, max-age=0"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/bookings/<int:booking_id>/calendar.ics")
@login_required
def booking_ics(booking_id: int):
    """"Add to my calendar": one event to import. Same visibility as the booking page, else 404."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_download_booking_ics(current_user, booking):
        abort(404)
    response = Response(services.booking_ics(booking, current_user), content_type=CALENDAR_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="booking-{booking.id}.ics"'
    return response
