"""Innovation voucher programmes and grants (platform admins), and what a firm sees of them.

The deductions themselves happen when a statement is issued (statements.py, split.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from equipshare.accounts.models import CustomerClass, Organisation, OrgStatus, User
from equipshare.billing.models import Statement, VoucherGrant, VoucherLedgerEntry, VoucherProgramme
from equipshare.billing.permissions import can_manage_vouchers
from equipshare.billing.rules import MAX_SHARE_BP
from equipshare.catalogue.models import Instrument
from equipshare.db import begin_write
from equipshare.errors import Conflict, Forbidden, NotFound, RuleViolation
from equipshare.extensions import db
from equipshare.money import MAX_FEN, format_fen

MAX_NAME = 200
MAX_NOTE = 2000


@dataclass(frozen=True)
class ProgrammeValues:
    name: str
    authority: str
    share_bp: int  # 6000 = 60 %
    yearly_cap_fen: int
    customer_classes: tuple[str, ...]
    instrument_ids: tuple[int, ...]  # empty: every instrument
    valid_from: date
    valid_until: date
    active: bool = True


def _admin(actor: User) -> User:
    actor = db.session.get(User, actor.id)
    if not can_manage_vouchers(actor):
        raise Forbidden(_l("Only platform administrators manage voucher programmes."), code="not_admin")
    return actor


def _line(text: str | None, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise RuleViolation(_l("Please fill in this field."), code="required", field=field)
    if len(text) > MAX_NAME or any(ord(c) < 32 for c in text):
        raise RuleViolation(_l("Enter a single line of at most %(n)s characters.", n=MAX_NAME),
                            code="bad_text", field=field)
    return text


def _check_values(values: ProgrammeValues) -> tuple[str, str, list[Instrument]]:
    name = _line(values.name, "name")
    authority = _line(values.authority, "authority")
    if not isinstance(values.share_bp, int) or not 0 < values.share_bp <= MAX_SHARE_BP:
        raise RuleViolation(_l("The share of the fee must be more than 0 % and at most 100 %."),
                            code="bad_share", field="share_percent")
    if not isinstance(values.yearly_cap_fen, int) or not 0 < values.yearly_cap_fen <= MAX_FEN:
        raise RuleViolation(_l("The yearly cap must be a positive amount."), code="bad_cap", field="yearly_cap")
    classes = set(values.customer_classes)
    if not classes or not classes <= {c.value for c in CustomerClass}:
        raise RuleViolation(_l("Choose at least one eligible customer class."), code="bad_classes",
                            field="customer_classes")
    if values.valid_until < values.valid_from:
        raise RuleViolation(_l("The end of the validity period must not be before its start."),
                            code="bad_validity", field="valid_until")
    if not (2000 <= values.valid_from.year and values.valid_until.year <= 2100):
        raise RuleViolation(_l("Enter dates between 2000 and 2100."), code="bad_validity", field="valid_from")
    ids = set(values.instrument_ids)
    instruments = list(db.session.scalars(select(Instrument).where(Instrument.id.in_(ids)))) if ids else []
    if len(instruments) != len(ids):
        raise RuleViolation(_l("An instrument in the list does not exist."), code="bad_instruments",
                            field="instrument_ids")
    return name, authority, instruments


def save_programme(actor: User, programme_id: int | None, values: ProgrammeValues, now: datetime) -> VoucherProgramme:
    """Create (``programme_id=None``) or change a programme. Changes apply to statements issued
    afterwards; the cap cannot drop below a grant already made."""
    begin_write(db.session)
    actor = _admin(actor)
    if programme_id is None:
        programme = VoucherProgramme(created_at=now, created_by_id=actor.id)
    else:
        programme = db.session.get(VoucherProgramme, programme_id)
        if programme is None:
            raise NotFound(_l("No such voucher programme."), code="programme_not_found")
    name, authority, instruments = _check_values(values)
    if programme_id is not None:
        largest = db.session.scalar(select(func.max(VoucherGrant.amount_fen))
                                    .where(VoucherGrant.programme_id == programme.id))
        if largest is not None and values.yearly_cap_fen < largest:
            raise RuleViolation(_l("A firm was already granted %(amount)s; the cap cannot be lower.",
                                   amount=format_fen(int(largest))), code="cap_below_grant", field="yearly_cap")
    programme.name, programme.authority = name, authority
    programme.share_bp, programme.yearly_cap_fen = values.share_bp, values.yearly_cap_fen
    programme.customer_classes = ",".join(sorted(set(values.customer_classes)))
    programme.valid_from, programme.valid_until = values.valid_from, values.valid_until
    programme.active = bool(values.active)
    programme.instruments = instruments
    db.session.add(programme)
    db.session.commit()
    return programme


def grant_voucher(actor: User, programme_id: int, organisation_id: int, year: int, amount_fen: int,
                  note: str | None, now: datetime) -> VoucherGrant:
    """Give a firm its allowance under a programme for a year (at most the programme's cap)."""
    begin_write(db.session)
    actor = _admin(actor)
    programme = db.session.get(VoucherProgramme, programme_id)
    if programme is None:
        raise NotFound(_l("No such voucher programme."), code="programme_not_found")
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(_l("No such organisation."), code="organisation_not_found")
    if organisation.status != OrgStatus.APPROVED:
        raise RuleViolation(_l("Vouchers can be granted only to approved organisations."),
                            code="organisation_not_approved", field="organisation_id")
    if not isinstance(year, int) or not programme.valid_from.year <= year <= programme.valid_until.year:
        raise RuleViolation(_l("The programme is valid from %(start)s to %(end)s; choose a year in that period.",
                               start=programme.valid_from.isoformat(), end=programme.valid_until.isoformat()),
                            code="year_outside_validity", field="year")
    if not isinstance(amount_fen, int) or not 0 < amount_fen <= programme.yearly_cap_fen:
        raise RuleViolation(_l("The amount must be positive and at most the yearly cap (%(cap)s).",
                               cap=format_fen(programme.yearly_cap_fen)), code="bad_amount", field="amount")
    note = (note or "").strip() or None
    if note and (len(note) > MAX_NOTE or "\x00" in note):
        raise RuleViolation(_l("The note is too long or contains characters that are not allowed."),
                            code="bad_text", field="note")
    grant = VoucherGrant(programme=programme, organisation_id=organisation.id, year=year, amount_fen=amount_fen,
                         used_fen=0, granted_at=now, granted_by_id=actor.id, note=note)
    db.session.add(grant)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(_l("%(org)s already has a grant of this programme for %(year)s.",
                          org=organisation.name, year=year), code="grant_exists", field="organisation_id") from exc
    return grant


# --- reading ------------------------------------------------------------------------------------------


def grants_of(organisation_id: int) -> list[VoucherGrant]:
    return list(db.session.scalars(
        select(VoucherGrant).where(VoucherGrant.organisation_id == organisation_id)
        .options(joinedload(VoucherGrant.programme)).order_by(VoucherGrant.year.desc(), VoucherGrant.id)))


def ledger_of(organisation_id: int, limit: int = 500) -> list[tuple[VoucherLedgerEntry, str]]:
    """The organisation's deductions and reversals, newest first, with the statement number."""
    return list(db.session.execute(
        select(VoucherLedgerEntry, Statement.number)
        .join(VoucherGrant, VoucherLedgerEntry.grant_id == VoucherGrant.id)
        .join(Statement, VoucherLedgerEntry.statement_id == Statement.id)
        .where(VoucherGrant.organisation_id == organisation_id)
        .options(joinedload(VoucherLedgerEntry.grant).joinedload(VoucherGrant.programme),
                 joinedload(VoucherLedgerEntry.line))
        .order_by(VoucherLedgerEntry.id.desc()).limit(limit)).all())


def programmes() -> list[VoucherProgramme]:
    return list(db.session.scalars(
        select(VoucherProgramme)
        .options(selectinload(VoucherProgramme.instruments),
                 selectinload(VoucherProgramme.grants).joinedload(VoucherGrant.organisation))
        .order_by(VoucherProgramme.valid_until.desc(), VoucherProgramme.id)))
