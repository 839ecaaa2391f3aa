"""Platform admins: mail deliveries that need attention (retry / dismiss) and the scheduled jobs."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from equipshare.accounts.auth import platform_admin_required
from equipshare.db import utcnow
from equipshare.errors import DomainError, flash_error
from equipshare.extensions import db
from equipshare.jobs import job_overview
from equipshare.notifications import services
from equipshare.notifications.forms import ActionForm
from equipshare.notifications.models import JobRun, OutboxMessage, OutboxStatus

bp = Blueprint("notifications_admin", __name__, url_prefix="/admin")

FILTERS = {
    "attention": _l("Needs attention"),
    "failed": _l("Failed"),
    "unknown": _l("Uncertain"),
    "retrying": _l("Retrying"),
    "queued": _l("Queued"),
    "sent": _l("Sent"),
    "all": _l("All"),
}
STATUS_LABELS = {
    OutboxStatus.PENDING: _l("Queued"),
    OutboxStatus.SENDING: _l("Sending"),
    OutboxStatus.SENT: _l("Sent"),
    OutboxStatus.FAILED: _l("Failed"),
    OutboxStatus.UNKNOWN: _l("Uncertain"),
    OutboxStatus.DISMISSED: _l("Dismissed"),
}
PAGE_SIZE = 50


def _filtered(name: str):
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    failing = (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.attempts > 0)
    conditions = {
        "attention": OutboxMessage.status.in_((OutboxStatus.FAILED, OutboxStatus.UNKNOWN)) | failing,
        "failed": OutboxMessage.status == OutboxStatus.FAILED,
        "unknown": OutboxMessage.status == OutboxStatus.UNKNOWN,
        "retrying": failing,
        "queued": OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        "sent": OutboxMessage.status == OutboxStatus.SENT,
    }
    return query.where(conditions[name]) if name in conditions else query


@bp.route("/outbox", endpoint="outbox")
@platform_admin_required
def outbox():
    name = request.args.get("show", "attention")
    if name not in FILTERS:
        name = "attention"
    page = db.paginate(_filtered(name), per_page=PAGE_SIZE, error_out=False)
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template("notifications/admin/outbox.html", page=page, show=name, filters=FILTERS, counts=counts,
                           status_labels=STATUS_LABELS, action_form=ActionForm())


def _act(message_id: int, action):
    db.get_or_404(OutboxMessage, message_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(current_user._get_current_object(), message_id, utcnow())
    except DomainError as error:
        flash_error(error)
        return False
    return True


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"], endpoint="retry")
@platform_admin_required
def retry(message_id: int):
    if _act(message_id, services.retry_message):
        flash(_("The e-mail is queued again; it will be sent within a few seconds."), "success")
    return redirect(url_for(".outbox", show=request.args.get("show", "attention")))


@bp.route("/outbox/<int:message_id>/dismiss", methods=["POST"], endpoint="dismiss")
@platform_admin_required
def dismiss(message_id: int):
    if _act(message_id, services.dismiss_message):
        flash(_("The e-mail has been dismissed; it will not be sent."), "info")
    return redirect(url_for(".outbox", show=request.args.get("show", "attention")))


@bp.route("/jobs", endpoint="jobs")
@platform_admin_required
def jobs():
    now = utcnow()
    rows = job_overview(now)
    last_seen = db.session.scalar(select(func.max(JobRun.started_at)).where(JobRun.runner.like("scheduler %")))
    tick = current_app.config["SCHEDULER_TICK_SECONDS"]
    scheduler_silent = last_seen is None or (now - last_seen).total_seconds() > max(3 * tick, 120)
    return render_template("notifications/admin/jobs.html", rows=rows, now=now, last_seen=last_seen,
                           scheduler_silent=scheduler_silent)
