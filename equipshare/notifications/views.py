"""The logged-in user's notification settings (/account/notifications) and muting an instrument
from any page that lists it (the manager's instrument list includes notifications/_mute.html)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from equipshare.accounts.auth import login_required
from equipshare.catalogue.models import Instrument
from equipshare.db import utcnow
from equipshare.errors import DomainError, flash_error
from equipshare.extensions import db
from equipshare.i18n import localized
from equipshare.notifications import services
from equipshare.notifications.forms import MuteInstrumentForm, PreferencesForm
from equipshare.notifications.permissions import can_mute_instrument
from equipshare.notifications.topics import MANAGER_TOPICS, TOPICS
from equipshare.web import safe_next_url

bp = Blueprint("notifications", __name__, url_prefix="/account/notifications")


@bp.app_template_global()
def muted_instrument_ids() -> set[int]:
    """The current user's muted instruments (one query per request), for instrument lists."""
    if not current_user.is_authenticated:
        return set()
    if "muted_instrument_ids" not in g:
        g.muted_instrument_ids = services.muted_instrument_ids(current_user)
    return g.muted_instrument_ids


def _managed_instruments(user) -> list[Instrument]:
    lab_ids = [lab.id for lab in user.managed_labs]
    if not lab_ids:
        return []
    instruments = db.session.scalars(select(Instrument).where(Instrument.lab_id.in_(lab_ids))).all()
    return sorted(instruments, key=lambda i: localized(i, "name").lower())


@bp.route("", methods=["GET", "POST"], endpoint="preferences")
@login_required
def preferences():
    user = current_user._get_current_object()
    shown = [t for t in TOPICS if user.is_lab_manager or t not in MANAGER_TOPICS]
    managed = _managed_instruments(user)
    muted = services.muted_topics(user)
    form = PreferencesForm()
    form.topics.choices = [(t, TOPICS[t][0]) for t in shown]
    form.muted_instruments.choices = [(i.id, localized(i, "name")) for i in managed]
    if request.method == "GET":
        form.topics.data = [t for t in shown if t not in muted]
        form.muted_instruments.data = sorted(services.muted_instrument_ids(user) & {i.id for i in managed})
    elif form.validate_on_submit():
        # Topics this page does not show keep their setting.
        hidden_wanted = {t for t in TOPICS if t not in shown and t not in muted}
        try:
            services.save_preferences(user, set(form.topics.data) | hidden_wanted, form.muted_instruments.data,
                                      utcnow())
        except DomainError as error:
            flash_error(error)
        else:
            flash(_("Your notification settings have been saved."), "success")
            return redirect(url_for(".preferences"))
    status = 422 if request.method == "POST" else 200
    return render_template("notifications/preferences.html", form=form, topics=TOPICS, managed=managed), status


@bp.route("/instruments/<int:instrument_id>/mute", methods=["POST"], endpoint="mute_instrument")
@login_required
def mute_instrument(instrument_id: int):
    instrument = db.get_or_404(Instrument, instrument_id)
    if not can_mute_instrument(current_user, instrument):
        abort(403)
    form = MuteInstrumentForm()
    if not form.validate_on_submit():
        abort(400)
    muted = form.muted.data == "1"
    try:
        services.set_instrument_mute(current_user._get_current_object(), instrument.id, muted, utcnow())
    except DomainError as error:
        flash_error(error)
    else:
        name = localized(instrument, "name")
        flash(_("You will no longer receive e-mails about %(name)s.", name=name) if muted
              else _("You will receive e-mails about %(name)s again.", name=name), "success")
    return redirect(safe_next_url(form.next.data, url_for(".preferences")))
