"""Client booking pages: availability, request (preview → confirm), my bookings, the booking page,
cancel, reschedule and edit.

Each view: load (404) → permission (403) → validate the form → one service → flash + redirect.
A booking the viewer may not see is "not found" (404), never 403, so ids do not leak. A service's
refusal is shown on the form it came from with its status (409 conflict, 422 rule).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError

from equipshare.accounts.auth import login_required
from equipshare.accounts.models import MemberStatus, OrgStatus
from equipshare.booking import availability as avail
from equipshare.booking import queries, services
from equipshare.booking.forms import FIELD_MAP, CancelForm, EditDetailsForm, RequestForm, RescheduleForm
from equipshare.booking.models import SLOT_HOLDING, Booking
from equipshare.booking.permissions import (
    can_cancel_booking,
    can_request_booking,
    can_reschedule_booking,
    can_see_booking_identities,
    can_view_booking,
)
from equipshare.catalogue import queries as catalogue_queries
from equipshare.catalogue.display import WEEKDAY_NAMES, hhmm
from equipshare.catalogue.models import BookingMode, InstrumentStatus
from equipshare.catalogue.permissions import can_view_instrument
from equipshare.catalogue.pricing import hours_label
from equipshare.catalogue.queries import valid_id
from equipshare.db import utcnow
from equipshare.errors import Conflict, DomainError, show_form_error, wants_json
from equipshare.extensions import db
from equipshare.timeutil import LOCAL_TZ
from equipshare.web import status_label

bp = Blueprint("booking", __name__)

PAGE_SIZE = 20


def optional_url(endpoint: str, **values) -> str | None:
    """A link to another feature's page, or None while that feature is not installed."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


ACTION_LABELS = {
    "requested": _l("Requested"),
    "approve": _l("Approved"),
    "reject": _l("Rejected"),
    "cancel": _l("Cancelled"),
    "expire": _l("Expired"),
    "complete": _l("Usage recorded"),
    "no_show": _l("No-show recorded"),
    "rescheduled": _l("Moved"),
    "edited": _l("Details edited"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def weekday_name(day: date) -> str:
    return str(WEEKDAY_NAMES[day.weekday()])


@bp.context_processor
def booking_helpers():
    return {"optional_url": optional_url, "hours_label": hours_label, "hhmm": hhmm, "weekday_name": weekday_name,
            "action_label": action_label,
            "local_tz": LOCAL_TZ}


def _refused(error: DomainError, form=None) -> int:
    """Undo the failed unit of work (it may hold SQLite's write lock) and show the refusal next
    to its field, or as a flashed message. Returns the status to answer with."""
    name = FIELD_MAP.get(error.field, error.field) if error.field else None
    if form is not None and name == "end_time" and not form.end_time.data and form.duration_minutes.data:
        name = "duration_minutes"
    return show_form_error(form, error, field=name)


def _parse_date(text: str | None) -> date | None:
    """An ISO date in the supported range, or None when absent. Bad values are a 400."""
    if not text:
        return None
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        abort(400, _("That is not a valid date. Use the form YYYY-MM-DD."))
    if not avail.in_supported_range(value):
        abort(400, _("That date is out of range."))
    return value


def _parse_local(text: str | None) -> datetime | None:
    """A "YYYY-MM-DDTHH:MM" prefill from a link, as an aware local datetime; None if unusable."""
    try:
        value = datetime.fromisoformat((text or "").strip()[:16])
    except ValueError:
        return None
    if not avail.in_supported_range(value.date()):
        return None
    return value.replace(tzinfo=LOCAL_TZ)


# --- availability ----------------------------------------------------------------------------------


@bp.route("/instruments/<int:instrument_id>/availability")
def availability(instrument_id: int):
    if wants_json():
        # The data behind the week view: the instrument's grid columns and its busy intervals in
        # one round trip, as plain rows; no grid, no template.
        data = _lean_json(instrument_id)
        if data is not None:
            return _json_answer(data)
    instrument = queries.load_instrument_with_lab(instrument_id)
    if instrument is None or not can_view_instrument(current_user, instrument):
        abort(404)
    now = utcnow()
    today = now.astimezone(LOCAL_TZ).date()
    day = _parse_date(request.args.get("day"))
    show_identity = can_see_booking_identities(current_user, instrument)
    if day is not None:
        view = avail.day_availability(instrument, day, now, show_identity)
        prev_args, next_args = {"day": day - timedelta(days=1)}, {"day": day + timedelta(days=1)}
    else:
        week = _parse_date(request.args.get("week")) or today
        view = avail.week_availability(instrument, week, now, show_identity)
        prev_args = {"week": view.first_day - timedelta(days=7)}
        next_args = {"week": view.first_day + timedelta(days=7)}
    if wants_json():
        return _json_answer(avail.as_json(view))
    can_request = can_request_booking(current_user, instrument)
    # Say it before anyone picks a slot: self-operated instruments need a qualification.
    unqualified = (can_request and instrument.booking_mode == BookingMode.SELF
                   and not services.is_qualified(current_user, instrument))
    return render_template(
        "booking/availability.html", instrument=instrument, view=view, mode="day" if day else "week",
        today=today, prev_args=prev_args, next_args=next_args, now=now, can_request=can_request,
        unqualified=unqualified, day_names=[weekday_name(d) for d in view.days], local_minute=avail.local_minute,
        suggested_minutes=avail.suggested_minutes(instrument),
    )


def _lean_json(instrument_id: int) -> dict | None:
    """The JSON of a visible-to-all instrument's week (or day). None lets the full path answer:
    an unknown or retired instrument (it decides who may see it), or a bad date (404 before 400)."""
    try:
        day = _parse_date(request.args.get("day"))
        if day is not None:
            days = avail.window_days(day, day_mode=True)
        else:
            week = _parse_date(request.args.get("week")) or utcnow().astimezone(LOCAL_TZ).date()
            days = avail.window_days(week, day_mode=False)
    except HTTPException:
        return None
    return avail.instrument_json(instrument_id, days, visible=lambda status: status != InstrumentStatus.RETIRED)


def _json_answer(data: dict):
    """Availability as JSON, with a strong ETag of the body: a client that already has it gets
    a 304 (the database is still read, so the answer is never stale). Built by hand rather than
    with jsonify + make_conditional: the same bytes and headers at a third of the cost."""
    body = (json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n").encode()  # as jsonify writes it
    etag = hashlib.sha1(body, usedforsecurity=False).hexdigest()
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, max-age=0"}
    if request.if_none_match.contains_weak(etag):
        return current_app.response_class(status=304, headers=headers)
    return current_app.response_class(body, mimetype="application/json", headers=headers)


# --- request ---------------------------------------------------------------------------------------


def _request_blocker(user, instrument) -> str | None:
    """Why this user cannot request this instrument, said plainly before any form is filled."""
    if instrument.status != InstrumentStatus.ACTIVE:
        return _("This instrument cannot be booked at the moment.")
    org = user.organisation
    if org is None:
        return _("Only members of a registered client organisation can request bookings.")
    if user.member_status == MemberStatus.PENDING:
        return _("Your request to join %(org)s is waiting for its administrator. You can book once you are "
                 "a member.", org=org.name)
    if user.member_status != MemberStatus.ACTIVE:
        return _("You are no longer a member of %(org)s.", org=org.name)
    if org.status == OrgStatus.PENDING:
        return _("%(org)s is awaiting approval by the platform administrator. You can request bookings once "
                 "it is approved.", org=org.name)
    if not can_request_booking(user, instrument):
        return _("%(org)s cannot request bookings.", org=org.name)
    if instrument.booking_mode == BookingMode.SELF and not services.is_qualified(user, instrument):
        return _("This instrument is self-operated: you need a qualification from its lab before you can book "
                 "it. Ask the lab for training, or choose a staff-operated service instrument.")
    return None


def _prefill_request(form: RequestForm, instrument) -> None:
    start = _parse_local(request.args.get("start"))
    if start is None:
        return
    end = _parse_local(request.args.get("end"))
    if end is None or end <= start:
        end = avail.suggested_end(instrument, start)
    form.prefill(start, end)


@bp.route("/instruments/<int:instrument_id>/book", methods=["GET", "POST"])
@login_required
def request_form(instrument_id: int):
    form = RequestForm()
    submitted = request.method == "POST" and form.validate_on_submit()
    refusal = None
    if submitted and form.confirm.data and valid_id(instrument_id):
        # A confirmed request goes straight to the service: it loads the instrument and the user
        # under the write lock and checks everything the page checks below (and more). The page's
        # own loading and checks run only when it refuses, to explain why; a booking that goes
        # through does not load the instrument's page data first (docs/benchmarks.md).
        get_locale()  # chosen now, from the loaded user: after the service's commit it would reload them
        try:
            booking = services.request_booking(current_user, instrument_id, _booking_request(form), utcnow())
        except DomainError as error:
            db.session.rollback()  # end the failed unit of work (it may hold SQLite's write lock)
            refusal = error
        else:
            if booking.status == "approved":
                flash(_("Booking #%(id)s is confirmed.", id=booking.id), "success")
            else:
                flash(_("Request #%(id)s is sent. The lab will confirm or decline it; you will get an e-mail.",
                        id=booking.id), "success")
            return redirect(url_for(".detail", booking_id=booking.id))
    instrument = catalogue_queries.load_instrument(instrument_id)
    if instrument is None or not can_view_instrument(current_user, instrument):
        abort(404)
    blocker = _request_blocker(current_user, instrument)
    if blocker:
        return render_template("booking/request_form.html", instrument=instrument, blocker=blocker, form=None), 403
    status, fee = 200, None
    if request.method == "GET":
        _prefill_request(form, instrument)
    elif not submitted:
        status = 422
    else:
        if refusal is None:  # a preview: check everything and quote, write nothing
            try:
                fee = services.validate_request(current_user, instrument, _booking_request(form), utcnow())
            except DomainError as error:
                refusal = error
        if refusal is not None:
            status = _refused(refusal, form)
            instrument = catalogue_queries.load_instrument(instrument_id)
    rate = instrument.rate_for(fee.customer_class) if fee else None
    return render_template("booking/request_form.html", instrument=instrument, form=form, fee=fee, rate=rate,
                           blocker=None), status


def _booking_request(form: RequestForm) -> services.BookingRequest:
    start, end = form.interval
    return services.BookingRequest(start=start, end=end, purpose=form.purpose.data,
                                   sample_description=form.sample_description.data,
                                   sample_count=form.sample_count.data)


# --- my bookings -----------------------------------------------------------------------------------


@bp.route("/bookings")
@login_required
def my_bookings():
    tab = request.args.get("tab", "upcoming")
    tab = tab if tab in queries.TABS else "upcoming"
    whole_org = request.args.get("scope") == "org" and current_user.is_org_admin
    search = queries.clean_search(request.args.get("q"))
    now = utcnow()
    page = queries.bookings_page(current_user, tab, whole_org, search, request.args.get("page", 1, type=int),
                                 PAGE_SIZE, now)
    args = {"tab": tab, "scope": "org" if whole_org else None, "q": search or None}
    return render_template("booking/my_bookings.html", page=page, tab=tab, whole_org=whole_org, search=search,
                           args={k: v for k, v in args.items() if v}, now=now)


# --- one booking -----------------------------------------------------------------------------------


def _visible_booking_or_404(booking_id: int) -> Booking:
    booking = queries.load_booking(booking_id)
    if booking is None or not can_view_booking(current_user, booking):
        abort(404)
    return booking


def _refuse_action(booking: Booking) -> None:
    """A visible booking the user may not change: 409 if its state forbids it, else 403."""
    if booking.status not in SLOT_HOLDING:
        raise Conflict(_("This booking is %(status)s; it can no longer be changed.", status=status_label(booking.status).lower()),
                       code="booking_state_changed")
    abort(403)


@bp.route("/bookings/<int:booking_id>")
@login_required
def detail(booking_id: int):
    booking = _visible_booking_or_404(booking_id)
    rate = booking.instrument.rate_for(booking.customer_class)
    return render_template("booking/detail.html", booking=booking, now=utcnow(), rate=rate)


@bp.route("/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(booking_id: int):
    booking = _visible_booking_or_404(booking_id)
    now = utcnow()
    if not can_cancel_booking(current_user, booking, now):
        _refuse_action(booking)
    late = services.cancellation_would_be_late(current_user, booking, now)
    form = CancelForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 422
        else:
            try:
                cancelled = services.cancel_booking(current_user, booking.id, form.reason.data, now)
            except DomainError as error:
                status = _refused(error, form)
                booking = _visible_booking_or_404(booking_id)
            else:
                if cancelled.late_cancellation:
                    flash(_("Booking #%(id)s is cancelled. It is recorded as a late cancellation.", id=booking_id),
                          "warning")
                else:
                    flash(_("Booking #%(id)s is cancelled.", id=booking_id), "success")
                return redirect(url_for(".detail", booking_id=booking_id))
    return render_template("booking/cancel.html", booking=booking, form=form, late=late), status


@bp.route("/bookings/<int:booking_id>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule(booking_id: int):
    booking = _visible_booking_or_404(booking_id)
    now = utcnow()
    if not can_reschedule_booking(current_user, booking, now):
        _refuse_action(booking)
    form = RescheduleForm()
    status = 200
    if request.method == "GET":
        form.prefill(booking.start_at, booking.end_at)
    elif not form.validate_on_submit():
        status = 422
    else:
        try:
            moved = services.reschedule_booking(current_user, booking.id, *form.interval, now)
        except DomainError as error:
            status = _refused(error, form)
            booking = _visible_booking_or_404(booking_id)
        else:
            if moved.status == "pending" and booking.instrument.requires_approval:
                flash(_("Booking #%(id)s is moved and waits for the lab's approval again.", id=booking_id), "info")
            else:
                flash(_("Booking #%(id)s is moved.", id=booking_id), "success")
            return redirect(url_for(".detail", booking_id=booking_id))
    return render_template("booking/reschedule.html", booking=booking, form=form), status


@bp.route("/bookings/<int:booking_id>/edit", methods=["GET", "POST"])
@login_required
def edit(booking_id: int):
    booking = _visible_booking_or_404(booking_id)
    now = utcnow()
    if not can_reschedule_booking(current_user, booking, now):
        _refuse_action(booking)
    form = EditDetailsForm(obj=booking if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 422
        else:
            try:
                services.edit_booking_details(current_user, booking.id, form.purpose.data,
                                              form.sample_description.data, form.sample_count.data, now)
            except DomainError as error:
                status = _refused(error, form)
                booking = _visible_booking_or_404(booking_id)
            else:
                flash(_("The details of booking #%(id)s are saved.", id=booking_id), "success")
                return redirect(url_for(".detail", booking_id=booking_id))
    return render_template("booking/edit.html", booking=booking, form=form), status
