"""Lab managers' booking pages: request queue, agenda, downtime, qualifications, usage.

Each view: load (404) → permission (403) → validate the form → one service → flash + redirect.
A service's refusal is shown on the page it came from, with its status (409 conflict, 422 rule);
Forbidden and NotFound go to the application's error pages. Views never commit.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from equipshare.accounts.auth import lab_manager_required, login_required
from equipshare.booking import manage_queries as queries
from equipshare.booking import services
from equipshare.booking.manage_forms import (
    ActionForm,
    DecideForm,
    DowntimeForm,
    GrantQualificationForm,
    NoShowForm,
    UsageForm,
    utc,
)
from equipshare.booking.models import Booking, Downtime, Qualification
from equipshare.booking.permissions import can_manage_bookings_of
from equipshare.catalogue.display import WEEKDAY_NAMES
from equipshare.catalogue.models import Instrument
from equipshare.db import utcnow
from equipshare.errors import Conflict, DomainError, Forbidden, NotFound, show_form_error
from equipshare.extensions import db
from equipshare.timeutil import to_local

bp = Blueprint("booking_manage", __name__)

PREFIX = "/manage/bookings"
AGENDA_DAYS = 14
MAX_AGENDA_DAYS = 62


def _refused(error: DomainError, form=None) -> int:
    """Undo the failed unit of work (it may hold SQLite's write lock), show the message next to
    its field or as a flash, and return the status to answer with."""
    return show_form_error(form, error)


def _instrument_filter() -> int | None:
    value = request.values.get("instrument", type=int)
    return value if value and value > 0 else None


def _managed_instrument_or_abort(instrument_id: int) -> Instrument:
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None:
        abort(404)
    if not can_manage_bookings_of(current_user, instrument):
        abort(403)
    return instrument


def _managed_booking_or_abort(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        abort(404)
    if not can_manage_bookings_of(current_user, booking.instrument):
        abort(403)
    return booking


# --- queue of requests ------------------------------------------------------------------------------


def _render_queue(form: DecideForm, status: int = 200, selected: list[int] | None = None):
    instrument_id = _instrument_filter()
    page = queries.pending_queue(current_user, instrument_id, request.args.get("page", 1, type=int))
    return render_template(
        "booking/manage/queue.html", page=page, form=form, instrument_id=instrument_id,
        instruments=queries.managed_instruments(current_user), selected=set(selected or []),
    ), status


@bp.route(f"{PREFIX}/queue")
@lab_manager_required
def queue():
    return _render_queue(DecideForm(formdata=None))


@bp.route(f"{PREFIX}/decide", methods=["POST"])
@lab_manager_required
def decide():
    form = DecideForm()
    if not form.validate_on_submit():
        return _render_queue(form, 422, form.booking_ids.data)
    bookings = queries.bookings_by_ids(form.booking_ids.data)
    if len(bookings) != len(form.booking_ids.data):
        abort(404)
    if not all(can_manage_bookings_of(current_user, b.instrument) for b in bookings):
        abort(403)
    approve = form.decision.data == "approve"
    try:
        decided = services.decide_bookings(current_user, form.booking_ids.data, approve, form.reason.data, utcnow())
    except (Forbidden, NotFound):
        raise
    except DomainError as error:
        return _render_queue(form, _refused(error, form), form.booking_ids.data)
    n = len(decided)
    if approve:
        flash(ngettext("%(num)d request approved.", "%(num)d requests approved.", n), "success")
    else:
        flash(ngettext("%(num)d request rejected.", "%(num)d requests rejected.", n), "success")
    return redirect(url_for(".queue", instrument=_instrument_filter()))


# --- agenda ------------------------------------------------------------------------------------------


@bp.route(f"{PREFIX}/agenda")
@lab_manager_required
def agenda():
    now = utcnow()
    today = to_local(now).date()
    try:
        first_day = date.fromisoformat(request.args["from"]) if request.args.get("from") else today
    except ValueError:
        flash(_("That is not a date; showing the agenda from today."), "warning")
        first_day = today
    if not date(2000, 1, 1) <= first_day <= date(2100, 1, 1):
        first_day = today
    days = min(max(request.args.get("days", AGENDA_DAYS, type=int) or AGENDA_DAYS, 1), MAX_AGENDA_DAYS)
    instrument_id = _instrument_filter()
    data = queries.agenda(current_user, instrument_id, first_day, days, now)
    return render_template(
        "booking/manage/agenda.html", agenda=data, now=now, instrument_id=instrument_id,
        instruments=queries.managed_instruments(current_user), no_show_form=NoShowForm(formdata=None),
        previous_day=first_day - timedelta(days=days), next_day=first_day + timedelta(days=days),
        weekday_name=lambda day: str(WEEKDAY_NAMES[day.weekday()]),
    )


# --- downtime ---------------------------------------------------------------------------------------


def _render_downtime(instrument: Instrument, form: DowntimeForm, status: int = 200, clashes=None):
    return render_template(
        "booking/manage/downtime.html", instrument=instrument, form=form, clashes=clashes or [],
        downtimes=queries.current_downtimes(instrument.id, utcnow()), action_form=ActionForm(formdata=None),
    ), status


@bp.route(f"{PREFIX}/instruments/<int:instrument_id>/downtime", methods=["GET", "POST"])
@login_required
def downtime(instrument_id: int):
    instrument = _managed_instrument_or_abort(instrument_id)
    form = DowntimeForm()
    if not form.validate_on_submit():
        return _render_downtime(instrument, form, 422 if request.method == "POST" else 200)
    start, end = utc(form.start.data), utc(form.end.data)
    confirmed = "confirm_ids" in request.form
    try:
        services.create_downtime(
            current_user, instrument.id, start, end, form.reason.data, utcnow(),
            cancel_overlapping=confirmed, cancel_reason=form.cancel_reason.data,
            expected_cancel_ids=set(form.confirm_ids.data) if confirmed else None)
    except (Forbidden, NotFound):
        raise
    except Conflict as error:
        status = _refused(error, form)
        # Show the bookings in the way and offer to cancel them in the same step.
        clashes = services.overlapping_bookings(instrument.id, start, end)
        form.confirm_ids.data = [b.id for b in clashes]
        return _render_downtime(instrument, form, status, clashes)
    except DomainError as error:
        return _render_downtime(instrument, form, _refused(error, form))
    flash(_("The time is blocked."), "success")
    return redirect(url_for(".downtime", instrument_id=instrument.id))


@bp.route(f"{PREFIX}/instruments/<int:instrument_id>/downtime/<int:downtime_id>/delete", methods=["POST"])
@login_required
def delete_downtime(instrument_id: int, downtime_id: int):
    instrument = _managed_instrument_or_abort(instrument_id)
    item = db.session.get(Downtime, downtime_id)
    if item is None or item.instrument_id != instrument.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    services.delete_downtime(current_user, item.id, utcnow())
    flash(_("The downtime is removed; the time can be booked again."), "success")
    return redirect(url_for(".downtime", instrument_id=instrument.id))


# --- qualifications ----------------------------------------------------------------------------------


def _grant(instrument: Instrument, form: GrantQualificationForm) -> int | None:
    """Grant from the form; None when done, else the status to answer with."""
    user = queries.user_by_email(form.email.data)
    if user is None:
        form.email.errors.append(_("There is no user with this e-mail address."))
        return 422
    try:
        services.grant_qualification(current_user, user.id, instrument.id, utcnow(), form.note.data)
    except (Forbidden, NotFound):
        raise
    except DomainError as error:
        return _refused(error, form)
    flash(_("%(name)s may now book and operate this instrument.", name=user.name), "success")
    return None


@bp.route(f"{PREFIX}/instruments/<int:instrument_id>/qualifications", methods=["GET", "POST"])
@login_required
def qualifications(instrument_id: int):
    instrument = _managed_instrument_or_abort(instrument_id)
    form = GrantQualificationForm()
    status = 200
    if form.validate_on_submit():
        status = _grant(instrument, form)
        if status is None:
            return redirect(url_for(".qualifications", instrument_id=instrument.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "booking/manage/qualifications.html", instrument=instrument, form=form,
        qualifications=queries.qualifications_of_instrument(instrument.id), action_form=ActionForm(formdata=None),
    ), status


@bp.route(f"{PREFIX}/instruments/<int:instrument_id>/qualifications/<int:qualification_id>/revoke",
          methods=["POST"])
@login_required
def revoke_qualification(instrument_id: int, qualification_id: int):
    instrument = _managed_instrument_or_abort(instrument_id)
    item = db.session.get(Qualification, qualification_id)
    if item is None or item.instrument_id != instrument.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = item.user.name
    services.revoke_qualification(current_user, item.id, utcnow())
    flash(_("The qualification of %(name)s is revoked.", name=name), "success")
    return redirect(url_for(".qualifications", instrument_id=instrument.id))


@bp.route("/qualifications")
@login_required
def my_qualifications():
    return render_template("booking/manage/my_qualifications.html",
                           qualifications=queries.qualifications_of_user(current_user.id))


# --- usage and no-shows ------------------------------------------------------------------------------


def _render_usage(booking: Booking, form: UsageForm, status: int = 200):
    return render_template("booking/manage/usage.html", booking=booking, form=form, now=utcnow(),
                           no_show_form=NoShowForm(formdata=None)), status


@bp.route(f"{PREFIX}/<int:booking_id>/usage", methods=["GET", "POST"])
@login_required
def usage(booking_id: int):
    booking = _managed_booking_or_abort(booking_id)
    form = UsageForm()
    if request.method == "GET":
        form.actual_start.data = to_local(booking.start_at).replace(tzinfo=None)
        form.actual_end.data = to_local(booking.end_at).replace(tzinfo=None)
        form.samples.data = booking.sample_count
        return _render_usage(booking, form)
    if not form.validate_on_submit():
        return _render_usage(booking, form, 422)
    try:
        services.record_usage(current_user, booking.id, utc(form.actual_start.data), utc(form.actual_end.data),
                              form.samples.data, utcnow(), form.note.data)
    except (Forbidden, NotFound):
        raise
    except DomainError as error:
        status = _refused(error, form)
        return _render_usage(db.session.get(Booking, booking_id), form, status)
    flash(_("Usage of booking #%(id)s is recorded.", id=booking.id), "success")
    return redirect(url_for(".agenda"))


@bp.route(f"{PREFIX}/<int:booking_id>/no-show", methods=["POST"])
@login_required
def no_show(booking_id: int):
    booking = _managed_booking_or_abort(booking_id)
    form = NoShowForm()
    if not form.validate_on_submit():
        return _render_usage(booking, UsageForm(formdata=None), 422)
    try:
        services.mark_no_show(current_user, booking.id, utcnow(), form.note.data)
    except (Forbidden, NotFound):
        raise
    except DomainError as error:
        status = _refused(error)
        return _render_usage(db.session.get(Booking, booking_id), UsageForm(formdata=None), status)
    flash(_("Booking #%(id)s is recorded as a no-show.", id=booking.id), "success")
    return redirect(url_for(".agenda"))
