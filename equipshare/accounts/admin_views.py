"""Platform admin: organisations awaiting approval, their details, the decision."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from equipshare.accounts import forms, services
from equipshare.accounts import permissions as perms
from equipshare.accounts.auth import platform_admin_required
from equipshare.accounts.models import Organisation, OrgStatus
from equipshare.db import utcnow
from equipshare.errors import RuleViolation, show_form_error
from equipshare.extensions import db

bp = Blueprint("admin_orgs", __name__, url_prefix="/admin/organisations")

STATUS_FILTERS = {
    "pending": _l("Awaiting approval"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "all": _l("All"),
}
PAGE_SIZE = 25


@bp.route("", endpoint="list")
@platform_admin_required
def list_organisations():
    status = request.args.get("status", "pending")
    if status not in STATUS_FILTERS:
        status = "pending"
    query = (select(Organisation).options(selectinload(Organisation.institution))
             .order_by(Organisation.created_at.desc(), Organisation.id.desc()))
    if status != "all":
        query = query.where(Organisation.status == status)
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False)
    counts = dict(db.session.execute(select(Organisation.status, func.count()).group_by(Organisation.status)).all())
    return render_template("accounts/admin/org_list.html", page=page, status=status, filters=STATUS_FILTERS,
                           counts=counts)


def _detail_page(org: Organisation, form, status: int = 200):
    members = sorted(org.members, key=lambda m: (m.org_role != "admin", m.name.lower()))
    return render_template("accounts/admin/org_detail.html", org=org, form=form, members=members), status


@bp.route("/<int:org_id>")
@platform_admin_required
def detail(org_id: int):
    org = db.get_or_404(Organisation, org_id)
    return _detail_page(org, forms.DecisionForm(formdata=None))


@bp.route("/<int:org_id>/decide", methods=["POST"])
@platform_admin_required
def decide(org_id: int):
    org = db.get_or_404(Organisation, org_id)
    if not perms.can_decide_organisation(current_user, org):
        abort(409)
    form = forms.DecisionForm()
    if form.validate_on_submit():
        try:
            services.decide_organisation(current_user._get_current_object(), org, form.decision.data,
                                         form.reason.data, utcnow())
        except RuleViolation as error:
            show_form_error(form, error)
        else:
            if org.status == OrgStatus.APPROVED:
                flash(_("%(org)s has been approved. Its administrator has been e-mailed.", org=org.name), "success")
            else:
                flash(_("%(org)s has been rejected. Its administrator has been e-mailed.", org=org.name), "info")
            return redirect(url_for(".list"))
    return _detail_page(org, form, 422)
