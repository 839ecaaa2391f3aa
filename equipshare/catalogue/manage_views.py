"""Lab managers' pages: their labs' instruments, with rules, rates, photo and status.

Platform admins may use these pages for any instrument (admin.instruments links here).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from equipshare.catalogue import queries, services
from equipshare.catalogue.forms import InstrumentForm, StatusForm
from equipshare.catalogue.models import Category, Instrument
from equipshare.catalogue.permissions import (
    can_administer_platform,
    can_manage_instrument,
    can_use_manage_area,
    managed_lab_ids,
)
from equipshare.errors import DomainError, flash_error, show_form_error
from equipshare.extensions import db, login_manager
from equipshare.i18n import current_language, localized
from equipshare.web import safe_next_url, status_label

bp = Blueprint("manage", __name__, url_prefix="/manage")

# Per-instrument pages of other features, linked from the list once they are registered.
INSTRUMENT_PAGES = (
    ("booking_manage.downtime", _l("Downtime")),
    ("booking_manage.qualifications", _l("Qualifications")),
    ("billing_manage.policy", _l("Billing policy")),
)


@bp.before_request
def require_manager():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not can_use_manage_area(current_user):
        abort(403)
    return None


def _actor():
    return current_user._get_current_object()


def _lab_scope() -> set[int] | None:
    """Labs the current user may put instruments in (None = all, for admins)."""
    return None if can_administer_platform(current_user) else managed_lab_ids(current_user)


def _load_managed_instrument(instrument_id: int) -> Instrument:
    instrument = queries.load_instrument(instrument_id)
    if instrument is None:
        abort(404)
    if not can_manage_instrument(current_user, instrument):
        abort(403)
    return instrument


def _build_form(data: dict) -> InstrumentForm:
    form = InstrumentForm(data=data, max_photo_bytes=current_app.config["MAX_PHOTO_BYTES"])
    lang = current_language()
    labs = queries.labs_with_details(lang, _lab_scope())
    form.lab_id.choices = [(lab.id, f"{localized(lab.institution, 'name')} · {localized(lab, 'name')}") for lab in labs]
    categories = db.session.scalars(db.select(Category).order_by(Category.sort_order, Category.code)).all()
    form.category_id.choices = [(c.id, f"{c.code} {localized(c, 'name')}") for c in categories]
    return form


def _save(form: InstrumentForm, instrument: Instrument | None):
    """Validate and save; returns a redirect on success or None to re-render the form."""
    if not form.validate_on_submit():
        return None
    try:
        saved = services.save_instrument(
            _actor(), instrument, form.instrument_values(),
            lab_id=form.lab_id.data, category_id=form.category_id.data, rates=form.rate_values(),
            photo=form.processed_photo, remove_photo=bool(form.remove_photo.data),
            upload_folder=current_app.config["UPLOAD_FOLDER"],
        )
    except DomainError as error:
        show_form_error(form, error)
        return None
    flash(_("Saved “%(name)s”.", name=localized(saved, "name")), "success")
    return redirect(url_for("manage.edit_instrument", instrument_id=saved.id))


@bp.route("/instruments")
def instruments():
    lang = current_language()
    filters = queries.CatalogueFilters.clean(sort="name")
    lab_ids = managed_lab_ids(current_user)
    items = db.session.scalars(
        queries.catalogue_statement(filters, lang, include_retired=True, lab_ids=lab_ids)
    ).all()
    pages = [(endpoint, label) for endpoint, label in INSTRUMENT_PAGES if endpoint in current_app.view_functions]
    return render_template("manage/instruments.html", instruments=items, instrument_pages=pages,
                           labs=queries.labs_with_details(lang, lab_ids), status_form=StatusForm())


@bp.route("/instruments/new", methods=["GET", "POST"])
def new_instrument():
    data = InstrumentForm.default_data()
    lab_id = request.args.get("lab", type=int)
    if lab_id:
        data["lab_id"] = lab_id
    form = _build_form(data)
    if not form.lab_id.choices or not form.category_id.choices:
        flash(_("An administrator must first create a lab and load the categories."), "warning")
    response = _save(form, None)
    if response is not None:
        return response
    status = 422 if request.method == "POST" else 200
    return render_template("manage/instrument_form.html", form=form, instrument=None), status


@bp.route("/instruments/<int:instrument_id>/edit", methods=["GET", "POST"])
def edit_instrument(instrument_id: int):
    instrument = _load_managed_instrument(instrument_id)
    form = _build_form(InstrumentForm.initial_data(instrument))
    response = _save(form, instrument)
    if response is not None:
        return response
    status = 422 if request.method == "POST" else 200
    return render_template("manage/instrument_form.html", form=form, instrument=instrument), status


@bp.route("/instruments/<int:instrument_id>/status", methods=["POST"])
def set_status(instrument_id: int):
    instrument = _load_managed_instrument(instrument_id)
    form = StatusForm()
    back = safe_next_url(request.form.get("next"), url_for("manage.instruments"))
    if not form.validate_on_submit():
        flash(_("Choose a valid status."), "danger")
        return redirect(back)
    try:
        services.set_instrument_status(_actor(), instrument, form.status.data)
    except DomainError as error:
        flash_error(error)
        return redirect(back)
    flash(_("“%(name)s” is now: %(status)s.", name=localized(instrument, "name"),
            status=status_label(form.status.data)), "success")
    return redirect(back)
