"""Platform admins: issue statements on demand, voucher programmes and grants, claims export."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from equipshare.accounts.models import Organisation, OrgStatus
from equipshare.billing import reports, statements, vouchers
from equipshare.billing.exports import kind_label, to_csv, to_xlsx, yuan
from equipshare.billing.forms import GrantForm, ProgrammeForm, RunStatementsForm, fen_text
from equipshare.billing.models import VoucherProgramme
from equipshare.billing.permissions import can_manage_vouchers
from equipshare.catalogue.display import customer_class_label
from equipshare.catalogue.models import Institution, Instrument
from equipshare.db import utcnow
from equipshare.errors import DomainError, show_form_error
from equipshare.extensions import db
from equipshare.i18n import localized
from equipshare.timeutil import to_local

bp = Blueprint("billing_admin", __name__, url_prefix="/admin/billing")


@bp.context_processor
def billing_helpers():
    return {"kind_label": kind_label, "class_labels": class_labels}


def class_labels(classes: list[str]) -> str:
    """Customer classes as people read them, in the page's language."""
    return ", ".join(customer_class_label(c) for c in classes)


@bp.before_request
@login_required
def require_admin():
    if not can_manage_vouchers(current_user):
        abort(403)


def _actor():
    return current_user._get_current_object()



@bp.route("/statements/run", methods=["GET", "POST"])
def run_statements():
    form = RunStatementsForm()
    if request.method == "GET":
        year, month = statements.previous_month(utcnow())
        form.period.data = to_local(utcnow()).date().replace(year=year, month=month, day=1)
    elif form.validate_on_submit():
        period = form.period.data
        try:
            issued = statements.issue_statements_for_month(_actor(), period.year, period.month, utcnow())
        except DomainError as error:
            show_form_error(form, error)
        else:
            flash(_("%(n)s statement(s) issued for %(period)s.", n=len(issued), period=period.strftime("%Y-%m")),
                  "success")
            return redirect(url_for("billing.statements", year=period.year))
    status = 422 if request.method == "POST" else 200
    return render_template("billing/run.html", form=form), status


# --- voucher programmes ------------------------------------------------------------------------------------


@bp.route("/vouchers")
def vouchers_index():
    return render_template("billing/programmes.html", programmes=vouchers.programmes())


def _programme_form(programme: VoucherProgramme | None) -> ProgrammeForm:
    data = None
    if programme is not None and request.method == "GET":
        data = {"name": programme.name, "authority": programme.authority,
                "share_percent": f"{programme.share_bp / 100:g}", "yearly_cap": fen_text(programme.yearly_cap_fen),
                "customer_classes": programme.class_list, "instrument_ids": [i.id for i in programme.instruments],
                "valid_from": programme.valid_from, "valid_until": programme.valid_until,
                "active": programme.active}
    elif request.method == "GET":
        data = {"customer_classes": ["enterprise"], "share_percent": "60", "yearly_cap": "500000.00",
                "active": True}
    form = ProgrammeForm(data=data)
    instruments = db.session.scalars(select(Instrument).order_by(Instrument.name_zh, Instrument.id)).all()
    form.instrument_ids.choices = [(i.id, localized(i, "name")) for i in instruments]
    return form


def _save_programme(programme: VoucherProgramme | None):
    form = _programme_form(programme)
    if form.validate_on_submit():
        values = vouchers.ProgrammeValues(
            name=form.name.data, authority=form.authority.data, share_bp=form.share_bp,
            yearly_cap_fen=form.yearly_cap.fen, customer_classes=tuple(form.customer_classes.data),
            instrument_ids=tuple(form.instrument_ids.data or ()), valid_from=form.valid_from.data,
            valid_until=form.valid_until.data, active=form.active.data)
        try:
            vouchers.save_programme(_actor(), programme.id if programme else None, values, utcnow())
        except DomainError as error:
            show_form_error(form, error)
        else:
            flash(_("Voucher programme saved."), "success")
            return redirect(url_for(".vouchers_index"))
    status = 422 if request.method == "POST" else 200
    return render_template("billing/programme_form.html", form=form, programme=programme), status


@bp.route("/vouchers/new", methods=["GET", "POST"])
def new_programme():
    return _save_programme(None)


@bp.route("/vouchers/<int:programme_id>/edit", methods=["GET", "POST"])
def edit_programme(programme_id: int):
    programme = db.session.get(VoucherProgramme, programme_id)
    if programme is None:
        abort(404)
    return _save_programme(programme)


@bp.route("/vouchers/<int:programme_id>/grant", methods=["GET", "POST"])
def grant(programme_id: int):
    programme = db.session.get(VoucherProgramme, programme_id)
    if programme is None:
        abort(404)
    form = GrantForm(data={"year": to_local(utcnow()).year,
                           "amount": fen_text(programme.yearly_cap_fen)} if request.method == "GET" else None)
    organisations = db.session.scalars(select(Organisation).where(Organisation.status == OrgStatus.APPROVED)
                                       .order_by(Organisation.name)).all()
    form.organisation_id.choices = [(o.id, o.name) for o in organisations]
    if form.validate_on_submit():
        try:
            vouchers.grant_voucher(_actor(), programme.id, form.organisation_id.data, form.year.data,
                                   form.amount.fen, form.note.data, utcnow())
        except DomainError as error:
            show_form_error(form, error)
        else:
            flash(_("Voucher granted."), "success")
            return redirect(url_for(".vouchers_index"))
    status = 422 if request.method == "POST" else 200
    return render_template("billing/grant_form.html", form=form, programme=programme), status


# --- claims ----------------------------------------------------------------------------------------------------


def _claims_period() -> tuple[int, int]:
    text = request.args.get("period") or ""
    try:
        year, month = (int(part) for part in text.split("-"))
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            raise ValueError
    except ValueError:
        return statements.previous_month(utcnow())
    return year, month


@bp.route("/claims")
def claims():
    year, month = _claims_period()
    institution_id = request.args.get("institution", type=int)
    if institution_id is not None and db.session.get(Institution, institution_id) is None:
        abort(404)
    rows = reports.claims(year, month, institution_id)
    header = [_("Institution"), _("Firm"), _("Unified social credit code"), _("Programme"), _("Instrument"),
              _("Service date"), _("Hours"), _("Fee (CNY)"), _("Voucher share (CNY)"), _("Statement"), _("Booking")]

    def cells(r):
        return [r.institution, r.firm, r.credit_code, r.programme, r.instrument, r.service_date, r.hours,
                yuan(r.fee_fen), yuan(r.voucher_fen), r.statement, r.booking_id]

    name = f"voucher-claims-{year}-{month:02d}"
    fmt = request.args.get("format")
    if fmt == "csv":
        return Response(to_csv(header, [cells(r) for r in rows]), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        by_institution: dict[str, list] = {}
        for r in rows:
            by_institution.setdefault(r.institution, []).append(cells(r))
        sheets = [(title, header, body) for title, body in by_institution.items()] or [(name, header, [])]
        return Response(to_xlsx(sheets),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    institutions = db.session.scalars(select(Institution).order_by(Institution.name_zh)).all()
    return render_template("billing/claims.html", rows=rows, year=year, month=month,
                           institution_id=institution_id, institutions=institutions,
                           total_fen=sum(r.voucher_fen for r in rows))
