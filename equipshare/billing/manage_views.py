"""Lab managers' billing pages (platform admins too): charges of their instruments, adjustments
and corrections, the instruments' billing policy, and income by instrument and month."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from equipshare.billing import charges as charge_service
from equipshare.billing import reports
from equipshare.billing.exports import MODE_LABELS, kind_label, to_csv, yuan
from equipshare.billing.forms import (
    CLASS_LABELS,
    AdjustChargeForm,
    BillingPolicyForm,
    CorrectionForm,
    fen_text,
)
from equipshare.billing.permissions import (
    can_edit_billing_policy,
    can_view_charge,
    can_view_income,
    income_lab_scope,
)
from equipshare.catalogue.models import Instrument
from equipshare.db import utcnow
from equipshare.errors import DomainError, show_form_error
from equipshare.extensions import db
from equipshare.i18n import localized
from equipshare.timeutil import to_local

bp = Blueprint("billing_manage", __name__, url_prefix="/manage/billing")


@bp.context_processor
def billing_helpers():
    return {"kind_label": kind_label, "mode_labels": MODE_LABELS, "class_labels": CLASS_LABELS}


@bp.before_request
@login_required
def require_manager():
    if not can_view_income(current_user):
        abort(403)


def _actor():
    return current_user._get_current_object()



def _load_charge(charge_id: int):
    charge = reports.load_charge(charge_id)
    if charge is None:
        abort(404)
    if not can_view_charge(current_user, charge):
        abort(403)
    return charge


@bp.route("/charges")
def charges():
    status = request.args.get("status") or None
    page = db.paginate(reports.charges_query(income_lab_scope(current_user), status), per_page=50,
                       error_out=False)
    return render_template("billing/charges.html", page=page, status=status)


def _render_charge(charge, adjust_form=None, correction_form=None, status=200):
    adjust_form = adjust_form or AdjustChargeForm(data={"amount": fen_text(charge.amount_fen)})
    correction_form = correction_form or CorrectionForm()
    corrections = reports.corrections_of(charge.id)
    return render_template("billing/charge.html", charge=charge, adjust_form=adjust_form,
                           correction_form=correction_form, corrections=corrections), status


@bp.route("/charges/<int:charge_id>")
def charge(charge_id: int):
    return _render_charge(_load_charge(charge_id))


@bp.route("/charges/<int:charge_id>/adjust", methods=["POST"])
def adjust(charge_id: int):
    charge = _load_charge(charge_id)
    form = AdjustChargeForm()
    if form.validate_on_submit():
        try:
            charge_service.adjust_charge(_actor(), charge.id, form.amount.fen, form.reason.data, utcnow())
        except DomainError as error:
            show_form_error(form, error)
        else:
            flash(_("The charge was changed; the change is in its history."), "success")
            return redirect(url_for(".charge", charge_id=charge.id))
    return _render_charge(_load_charge(charge_id), adjust_form=form, status=422)


@bp.route("/charges/<int:charge_id>/correct", methods=["POST"])
def correct(charge_id: int):
    charge = _load_charge(charge_id)
    form = CorrectionForm()
    if form.validate_on_submit():
        try:
            correction = charge_service.add_correction(_actor(), charge.id, form.amount.fen, form.reason.data,
                                                       utcnow())
        except DomainError as error:
            show_form_error(form, error)
        else:
            flash(_("The correction was recorded; it will appear on the next statement."), "success")
            return redirect(url_for(".charge", charge_id=correction.id))
    return _render_charge(_load_charge(charge_id), correction_form=form, status=422)


@bp.route("/instruments/<int:instrument_id>/policy", methods=["GET", "POST"])
def policy(instrument_id: int):
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None:
        abort(404)
    if not can_edit_billing_policy(current_user, instrument):
        abort(403)
    form = BillingPolicyForm(obj=instrument)
    if form.validate_on_submit():
        values = charge_service.BillingPolicy(
            form.billing_mode.data, form.billing_increment_minutes.data, form.late_cancel_fee_percent.data,
            form.no_show_fee_percent.data)
        try:
            charge_service.update_billing_policy(_actor(), instrument.id, values, utcnow())
        except DomainError as error:
            show_form_error(form, error)
        else:
            flash(_("Billing policy saved. It applies to charges created from now on."), "success")
            return redirect(url_for(".policy", instrument_id=instrument_id))
    status = 422 if request.method == "POST" else 200
    return render_template("billing/policy.html", form=form, instrument=instrument), status


@bp.route("/income")
def income():
    year = request.args.get("year", type=int) or to_local(utcnow()).year
    if not 2000 <= year <= 2100:
        abort(404)
    groups = reports.income(year, income_lab_scope(current_user))
    if request.args.get("format") == "csv":
        header = [_("Institution"), _("Lab"), _("Instrument"), _("Year"), _("Month"), _("Lines"), _("Fee (CNY)"),
                  _("Voucher share (CNY)"), _("Firm share (CNY)")]
        rows = [[localized(g.lab.institution, "name"), localized(g.lab, "name"), localized(r.instrument, "name"),
                 year, r.month, r.lines, yuan(r.amount_fen), yuan(r.voucher_fen), yuan(r.firm_fen)]
                for g in groups for r in g.rows]
        return Response(to_csv(header, rows), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="income-{year}.csv"'})
    return render_template("billing/income.html", groups=groups, year=year,
                           instruments=reports.instruments_in_scope(income_lab_scope(current_user)))
