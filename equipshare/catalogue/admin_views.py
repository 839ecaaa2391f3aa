"""Platform administration: dashboard, institutions, labs and their managers, categories,
and the list of all instruments (editing happens on the shared manage pages)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from equipshare.catalogue import queries, services
from equipshare.catalogue.forms import (
    KIND_LABELS,
    CategoryForm,
    ConfirmForm,
    InstitutionForm,
    LabForm,
    ManagerForm,
)
from equipshare.catalogue.models import Category, Institution, Instrument, InstrumentStatus
from equipshare.catalogue.permissions import can_administer_platform
from equipshare.errors import DomainError, flash_error, show_form_error
from equipshare.extensions import db, login_manager
from equipshare.i18n import current_language, localized

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Other features' administration pages, linked from the dashboard once they are registered.
OTHER_ADMIN_PAGES = (
    ("billing_admin.vouchers_index", _l("Voucher programmes")),
    ("billing_admin.claims", _l("Voucher claims")),
    ("billing_admin.run_statements", _l("Monthly statements")),
    ("notifications_admin.outbox", _l("Mail outbox")),
    ("notifications_admin.jobs", _l("Scheduled jobs")),
)


@bp.before_request
def require_admin():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not can_administer_platform(current_user):
        abort(403)
    return None


@bp.context_processor
def admin_template_helpers():
    # The organisations review pages belong to the accounts feature; link them once they exist.
    return {"orgs_link": "admin_orgs.list" in current_app.view_functions, "kind_labels": KIND_LABELS}


def _actor():
    return current_user._get_current_object()


def _get_or_404(model, object_id: int):
    obj = db.session.get(model, object_id) if queries.valid_id(object_id) else None
    if obj is None:
        abort(404)
    return obj


def _form_status() -> int:
    return 422 if request.method == "POST" else 200


@bp.route("")
def index():
    others = [(endpoint, label) for endpoint, label in OTHER_ADMIN_PAGES if endpoint in current_app.view_functions]
    return render_template("admin/index.html", counts=queries.admin_counts(), other_pages=others)


# --- Institutions ------------------------------------------------------------------------------


@bp.route("/institutions")
def institutions():
    data = queries.home_data(current_language(), featured=0)
    return render_template("admin/institutions.html", institutions=data.institutions)


@bp.route("/institutions/new", methods=["GET", "POST"], defaults={"institution_id": None})
@bp.route("/institutions/<int:institution_id>/edit", methods=["GET", "POST"])
def edit_institution(institution_id: int | None):
    institution = _get_or_404(Institution, institution_id) if institution_id else None
    defaults = None if institution else {"kind": "university", "city": Institution.__table__.c.city.default.arg}
    form = InstitutionForm(obj=institution, data=defaults)
    if form.validate_on_submit():
        try:
            saved = services.save_institution(_actor(), institution, form.values())
        except DomainError as error:
            show_form_error(form, error)
        else:
            flash(_("Saved “%(name)s”.", name=localized(saved, "name")), "success")
            return redirect(url_for("admin.institutions"))
    return render_template("admin/institution_form.html", form=form, institution=institution), _form_status()


# --- Labs and managers -----------------------------------------------------------------------


@bp.route("/labs")
def labs():
    return render_template("admin/labs.html", labs=queries.labs_with_details(current_language()))


def _lab_form(lab) -> LabForm:
    form = LabForm(obj=lab)
    name = Institution.name_zh if current_language() == "zh" else Institution.name_en
    institutions = db.session.scalars(db.select(Institution).order_by(name)).all()
    form.institution_id.choices = [(i.id, localized(i, "name")) for i in institutions]
    if lab is None and request.method == "GET":
        form.institution_id.data = request.args.get("institution", type=int)
    return form


@bp.route("/labs/new", methods=["GET", "POST"], defaults={"lab_id": None})
@bp.route("/labs/<int:lab_id>/edit", methods=["GET", "POST"])
def edit_lab(lab_id: int | None):
    lab = None
    if lab_id:
        lab = queries.load_lab(lab_id)
        if lab is None:
            abort(404)
    form = _lab_form(lab)
    if form.validate_on_submit():
        try:
            saved = services.save_lab(_actor(), lab, form.values(), institution_id=form.institution_id.data)
        except DomainError as error:
            show_form_error(form, error)
        else:
            flash(_("Saved “%(name)s”.", name=localized(saved, "name")), "success")
            return redirect(url_for("admin.edit_lab", lab_id=saved.id))
    return render_template("admin/lab_form.html", form=form, lab=lab, manager_form=ManagerForm(formdata=None),
                           confirm_form=ConfirmForm()), _form_status()


@bp.route("/labs/<int:lab_id>/managers", methods=["POST"])
def add_manager(lab_id: int):
    lab = queries.load_lab(lab_id)
    if lab is None:
        abort(404)
    manager_form = ManagerForm()
    if manager_form.validate_on_submit():
        try:
            user = services.add_lab_manager(_actor(), lab, manager_form.email.data)
        except DomainError as error:
            show_form_error(manager_form, error)
        else:
            flash(_("%(name)s now manages this lab.", name=user.name), "success")
            return redirect(url_for("admin.edit_lab", lab_id=lab.id))
    form = _lab_form(lab)
    return render_template("admin/lab_form.html", form=form, lab=lab, manager_form=manager_form,
                           confirm_form=ConfirmForm()), 422


@bp.route("/labs/<int:lab_id>/managers/<int:user_id>/remove", methods=["POST"])
def remove_manager(lab_id: int, user_id: int):
    lab = queries.load_lab(lab_id)
    if lab is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.remove_lab_manager(_actor(), lab, user_id)
    except DomainError as error:
        flash_error(error)
    else:
        flash(_("Manager removed."), "success")
    return redirect(url_for("admin.edit_lab", lab_id=lab_id))


# --- Categories --------------------------------------------------------------------------------


@bp.route("/categories")
def categories():
    data = queries.home_data(current_language(), featured=0)
    return render_template("admin/categories.html", categories=data.categories, confirm_form=ConfirmForm())


@bp.route("/categories/new", methods=["GET", "POST"], defaults={"category_id": None})
@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
def edit_category(category_id: int | None):
    category = _get_or_404(Category, category_id) if category_id else None
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        try:
            saved = services.save_category(_actor(), category, form.values())
        except DomainError as error:
            show_form_error(form, error)
        else:
            flash(_("Saved “%(name)s”.", name=localized(saved, "name")), "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/category_form.html", form=form, category=category), _form_status()


@bp.route("/categories/seed", methods=["POST"])
def seed_categories():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    added = services.ensure_categories()
    if added:
        flash(_("Added %(n)s categories of the national classification.", n=added), "success")
    else:
        flash(_("The national classification was already complete."), "info")
    return redirect(url_for("admin.categories"))


# --- Instruments -------------------------------------------------------------------------------


@bp.route("/instruments")
def instruments():
    filters = queries.CatalogueFilters.from_args(request.args)
    status = request.args.get("status")
    lang = current_language()
    stmt = queries.catalogue_statement(filters, lang, include_retired=True)
    if status in {s.value for s in InstrumentStatus}:
        stmt = stmt.where(Instrument.status == status)
    else:
        status = None
    page = db.paginate(stmt, page=queries.clamp_page(request.args.get("page", 1, type=int)), per_page=50, error_out=False)
    args = filters.as_args() | ({"status": status} if status else {})
    return render_template("admin/instruments.html", page=page, filters=filters, status=status, args=args,
                           options=queries.filter_options(lang))
