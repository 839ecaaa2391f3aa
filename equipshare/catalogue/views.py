"""The public catalogue: home page, instrument list with search and filters, instrument pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory
from flask_login import current_user

from equipshare.catalogue import queries
from equipshare.catalogue.display import (
    BOOKING_MODE_HELP,
    CUSTOMER_CLASS_HELP,
    CUSTOMER_CLASSES,
    booking_mode_label,
    customer_class_label,
    parse_specs,
    rules_in_words,
)
from equipshare.catalogue.permissions import can_view_instrument
from equipshare.catalogue.photos import is_stored_name
from equipshare.i18n import current_language

bp = Blueprint("catalogue", __name__)


@bp.app_context_processor
def catalogue_helpers():
    return {"booking_mode_label": booking_mode_label, "customer_class_label": customer_class_label}


@bp.route("/")
def home():
    data = queries.home_data(current_language())
    return render_template("catalogue/home.html", data=data)


@bp.route("/instruments")
def index():
    filters = queries.CatalogueFilters.from_args(request.args)
    page_number = request.args.get("page", 1, type=int)
    lang = current_language()
    page = queries.search_instruments(filters, lang, page_number, current_app.config["CATALOGUE_PAGE_SIZE"])
    return render_template(
        "catalogue/index.html",
        page=page,
        filters=filters,
        options=queries.filter_options(lang),
    )


def _visible_instrument_or_404(instrument_id: int):
    instrument = queries.load_instrument(instrument_id)
    # Retired instruments are not found by the public (a 403 would tell that they exist).
    if instrument is None or not can_view_instrument(current_user, instrument):
        abort(404)
    return instrument


@bp.route("/instruments/<int:instrument_id>")
def instrument(instrument_id: int):
    instrument = _visible_instrument_or_404(instrument_id)
    return render_template(
        "catalogue/instrument.html",
        instrument=instrument,
        specs=parse_specs(instrument.specs),
        rules=rules_in_words(instrument),
        mode_help=BOOKING_MODE_HELP.get(instrument.booking_mode),
        fee_rows=[(c, CUSTOMER_CLASS_HELP[c], instrument.rate_for(c)) for c in CUSTOMER_CLASSES],
        booking_available="booking.availability" in current_app.view_functions,
    )


@bp.route("/instruments/<int:instrument_id>/photo")
def photo(instrument_id: int):
    instrument = _visible_instrument_or_404(instrument_id)
    if not is_stored_name(instrument.photo_filename):
        abort(404)
    response = send_from_directory(current_app.config["UPLOAD_FOLDER"], instrument.photo_filename, max_age=86400)
    # The name changes with every upload (and the URL carries it), so caching is safe.
    return response
