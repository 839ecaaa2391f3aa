"""Statements and voucher balances, for organisation admins (their own) and platform admins (all).

Another organisation's statement answers 404, exactly like a statement that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from equipshare.accounts.models import Organisation
from equipshare.billing import reports, vouchers
from equipshare.billing.exports import kind_label, statement_csv, statement_pdf
from equipshare.billing.permissions import can_list_statements, can_view_org_billing, can_view_statement
from equipshare.errors import NotFound
from equipshare.extensions import db
from equipshare.i18n import localized

bp = Blueprint("billing", __name__, url_prefix="/billing")


@bp.context_processor
def billing_helpers():
    return {"kind_label": kind_label}


def _load_statement(statement_id: int):
    statement = reports.load_statement(statement_id)
    if statement is None or not can_view_statement(current_user, statement):
        # Same answer whether it does not exist or belongs to another organisation.
        raise NotFound(_("No such statement, or it is not one of your organisation's."), code="statement_not_found")
    return statement


def _org_scope() -> int | None:
    """The organisation whose billing is shown: one's own; a platform admin may pick one (?org=)."""
    if current_user.is_platform_admin:
        org_id = request.args.get("org", type=int)
        if org_id is not None and db.session.get(Organisation, org_id) is None:
            abort(404)
        return org_id
    if not can_list_statements(current_user):
        abort(403)
    return current_user.organisation_id


def _filename(statement, extension: str) -> str:
    return f"statement-{statement.number}.{extension}"


@bp.route("/statements")
@login_required
def statements():
    org_id = _org_scope()
    year = request.args.get("year", type=int)
    page = db.paginate(reports.statements_query(org_id, year), per_page=25, error_out=False)
    organisation = db.session.get(Organisation, org_id) if org_id else None
    open_charges = reports.open_charges_of(org_id) if org_id else []
    organisations = []
    if current_user.is_platform_admin:
        organisations = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template("billing/statements.html", page=page, organisation=organisation, year=year,
                           open_charges=open_charges, organisations=organisations)


@bp.route("/statements/<int:statement_id>")
@login_required
def statement(statement_id: int):
    return render_template("billing/statement.html", statement=_load_statement(statement_id))


@bp.route("/statements/<int:statement_id>.csv")
@login_required
def statement_as_csv(statement_id: int):
    statement = _load_statement(statement_id)
    body = statement_csv(statement, lambda line: localized(line, "instrument_name"))
    return Response(body, mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_filename(statement, "csv")}"'})


@bp.route("/statements/<int:statement_id>.pdf")
@login_required
def statement_as_pdf(statement_id: int):
    statement = _load_statement(statement_id)
    body = statement_pdf(statement, lambda line: localized(line, "instrument_name"), _("EquipShare"))
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{_filename(statement, "pdf")}"'})


@bp.route("/vouchers")
@login_required
def voucher_balance():
    org_id = _org_scope()
    if org_id is None:  # a platform admin without ?org=: the programmes and all grants
        return redirect(url_for("billing_admin.vouchers_index"))
    if not can_view_org_billing(current_user, org_id):
        abort(403)
    return render_template("billing/vouchers.html", organisation=db.session.get(Organisation, org_id),
                           grants=vouchers.grants_of(org_id), ledger=vouchers.ledger_of(org_id))
