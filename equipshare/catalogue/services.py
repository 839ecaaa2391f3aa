"""Catalogue write operations. Each public function is one transaction: it takes the acting user
and plain values, checks permission and rules, and commits once at its end."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from equipshare.accounts.models import User
from equipshare.catalogue.categories import NATIONAL_CATEGORIES
from equipshare.catalogue.models import (
    BookingMode,
    Category,
    Institution,
    InstitutionKind,
    Instrument,
    InstrumentStatus,
    Lab,
    RateCard,
)
from equipshare.catalogue.permissions import can_administer_platform, can_manage_instrument, can_manage_lab
from equipshare.catalogue.photos import ProcessedPhoto, delete_photo, store_photo
from equipshare.db import begin_write, utcnow
from equipshare.errors import Conflict, Forbidden, NotFound, RuleViolation
from equipshare.extensions import db

CUSTOMER_CLASSES = ("internal", "academic", "enterprise")
RATE_FIELDS = ("hourly_rate_fen", "per_sample_fen", "setup_fee_fen", "minimum_charge_fen")
MAX_FEE_FEN = 100_000_000  # ¥1,000,000: a larger fee for one booking is a typo
SLOT_CHOICES = (10, 15, 20, 30, 60, 120, 180, 240, 480, 720, 1440)  # each divides a day
MAX_DURATION_MINUTES = 7 * 24 * 60  # also a CHECK constraint on instruments
MAX_NOTICE_HOURS = 720
MAX_HORIZON_DAYS = 730
MAX_LATE_CANCEL_HOURS = 720
MAX_OPEN_REQUESTS = 100

INSTRUMENT_FIELDS = (
    "name_zh", "name_en", "model", "manufacturer", "location", "description_zh", "description_en", "specs",
    "status", "booking_mode", "slot_minutes", "min_duration_minutes", "max_duration_minutes",
    "min_notice_hours", "horizon_days", "open_minute", "close_minute", "open_weekdays",
    "requires_approval", "late_cancel_hours", "max_open_requests_per_org",
)
INSTITUTION_FIELDS = ("name_zh", "name_en", "kind", "city", "address", "website", "description")
LAB_FIELDS = ("name_zh", "name_en", "location", "contact_name", "contact_phone", "contact_email", "description")
CATEGORY_FIELDS = ("code", "name_zh", "name_en", "sort_order")


# --- Rules shared by forms and services ------------------------------------------------------


def booking_rule_errors(v: Mapping) -> dict[str, str]:
    """Cross-field checks of an instrument's booking rules → {field: message}. Forms show them on
    the fields; the service refuses the same values (one rule, two callers)."""
    errors: dict[str, object] = {}
    slot = v.get("slot_minutes")
    low, high = v.get("min_duration_minutes"), v.get("max_duration_minutes")
    if slot not in SLOT_CHOICES:
        errors["slot_minutes"] = _l("Choose one of the offered slot sizes.")
    elif low is not None and high is not None:
        if low <= 0 or low % slot:
            errors["min_duration_minutes"] = _l("Use a positive multiple of the slot size (%(slot)s minutes).", slot=slot)
        if high % slot or high <= 0:
            errors["max_duration_minutes"] = _l("Use a positive multiple of the slot size (%(slot)s minutes).", slot=slot)
        elif high < low:
            errors["max_duration_minutes"] = _l("The longest booking cannot be shorter than the shortest one.")
        elif high > MAX_DURATION_MINUTES:
            errors["max_duration_minutes"] = _l("A booking may last at most 7 days (10080 minutes).")
    open_m, close_m = v.get("open_minute"), v.get("close_minute")
    if open_m is None or close_m is None or not (0 <= open_m < close_m <= 1440):
        errors["close_minute"] = _l("Closing time must be after opening time.")
    elif slot in SLOT_CHOICES and (open_m % slot or close_m % slot):
        errors["open_minute"] = _l("Opening and closing times must lie on the slot grid.")
    days = v.get("open_weekdays") or ""
    if not days or any(c not in "1234567" for c in days) or len(set(days)) != len(days):
        errors["open_weekdays"] = _l("Choose at least one opening day.")
    for field, top in (("min_notice_hours", MAX_NOTICE_HOURS), ("late_cancel_hours", MAX_LATE_CANCEL_HOURS)):
        value = v.get(field)
        if value is None or not 0 <= value <= top:
            errors[field] = _l("Enter a number from 0 to %(max)s.", max=top)
    horizon = v.get("horizon_days")
    if horizon is None or not 1 <= horizon <= MAX_HORIZON_DAYS:
        errors["horizon_days"] = _l("Enter a number from 1 to %(max)s.", max=MAX_HORIZON_DAYS)
    limit = v.get("max_open_requests_per_org")
    if limit is None or not 1 <= limit <= MAX_OPEN_REQUESTS:
        errors["max_open_requests_per_org"] = _l("Enter a number from 1 to %(max)s.", max=MAX_OPEN_REQUESTS)
    if v.get("status") not in {s.value for s in InstrumentStatus}:
        errors["status"] = _l("Choose a status.")
    if v.get("booking_mode") not in {m.value for m in BookingMode}:
        errors["booking_mode"] = _l("Choose a booking mode.")
    return {k: str(m) for k, m in errors.items()}


def fee_error(fen) -> str | None:
    if not isinstance(fen, int) or isinstance(fen, bool):
        return str(_l("Enter an amount in yuan, e.g. 120 or 85.50."))
    if fen < 0:
        return str(_l("Fees cannot be negative."))
    if fen > MAX_FEE_FEN:
        return str(_l("That amount is too large (at most ¥1,000,000)."))
    return None


def _check_rates(rates: Mapping[str, Mapping[str, int]]) -> None:
    for customer_class, values in rates.items():
        if customer_class not in CUSTOMER_CLASSES:
            raise RuleViolation(_l("Unknown customer class."), code="unknown_customer_class")
        for field in RATE_FIELDS:
            problem = fee_error(values.get(field, 0))
            if problem:
                raise RuleViolation(problem, code="invalid_fee", field=f"rate_{customer_class}")


# --- Instruments -----------------------------------------------------------------------------


def save_instrument(actor: User, instrument: Instrument | None, values: Mapping, *, lab_id: int,
                    category_id: int, rates: Mapping[str, Mapping[str, int]],
                    photo: ProcessedPhoto | None = None, remove_photo: bool = False,
                    upload_folder: str | Path | None = None, now: datetime | None = None) -> Instrument:
    """Create (``instrument=None``) or update an instrument with its rules, rates and photo."""
    now = now or utcnow()
    begin_write(db.session)
    if instrument is not None and not can_manage_instrument(actor, instrument):
        raise Forbidden(_l("You do not manage this instrument."))
    lab = db.session.get(Lab, lab_id)
    if lab is None:
        raise NotFound(_l("That lab does not exist."), field="lab_id")
    if not can_manage_lab(actor, lab):
        raise Forbidden(_l("You do not manage that lab."), field="lab_id")
    if db.session.get(Category, category_id) is None:
        raise NotFound(_l("That category does not exist."), field="category_id")
    problems = booking_rule_errors(values)
    if problems:
        field, message = next(iter(problems.items()))
        raise RuleViolation(message, code="invalid_booking_rules", field=field)
    _check_rates(rates)
    if photo is not None and upload_folder is None:
        raise ValueError("upload_folder is required to store a photo")

    if instrument is None:
        instrument = Instrument(created_at=now)
        db.session.add(instrument)
    for field in INSTRUMENT_FIELDS:
        if field in values:
            setattr(instrument, field, values[field])
    instrument.lab_id = lab.id
    instrument.category_id = category_id
    instrument.updated_at = now
    _apply_rates(instrument, rates)

    old_photo = instrument.photo_filename
    new_photo = store_photo(upload_folder, photo) if photo is not None else None
    if new_photo:
        instrument.photo_filename = new_photo
    elif remove_photo:
        instrument.photo_filename = None
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        if new_photo:
            delete_photo(upload_folder, new_photo)
        raise
    if old_photo and old_photo != instrument.photo_filename and upload_folder is not None:
        delete_photo(upload_folder, old_photo)
    return instrument


def _apply_rates(instrument: Instrument, rates: Mapping[str, Mapping[str, int]]) -> None:
    for customer_class, values in rates.items():
        card = instrument.rate_for(customer_class)
        if card is None:
            card = RateCard(customer_class=customer_class)
            instrument.rate_cards.append(card)
        for field in RATE_FIELDS:
            setattr(card, field, int(values.get(field, 0)))


def set_instrument_status(actor: User, instrument: Instrument, status: str, now: datetime | None = None) -> None:
    begin_write(db.session)
    if not can_manage_instrument(actor, instrument):
        raise Forbidden(_l("You do not manage this instrument."))
    if status not in {s.value for s in InstrumentStatus}:
        raise RuleViolation(_l("Choose a status."), code="unknown_status", field="status")
    instrument.status = status
    instrument.updated_at = now or utcnow()
    db.session.commit()


# --- Institutions, labs, managers, categories (platform admins) -------------------------------


def _require_admin(actor: User) -> None:
    if not can_administer_platform(actor):
        raise Forbidden(_l("Only platform administrators may do this."))


def _commit_unique(field: str, message) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        # Lost a race with another admin creating the same name/code.
        db.session.rollback()
        raise Conflict(message, code="duplicate", field=field) from None


def _save_unique(obj, model, values: Mapping, fields, unique_field: str, message):
    """Create or update a row whose ``unique_field`` must stay unique: a friendly Conflict first,
    the unique constraint as the final word (a concurrent admin)."""
    duplicate = db.session.scalar(select(model.id).where(getattr(model, unique_field) == values[unique_field]))
    if duplicate is not None and (obj is None or duplicate != obj.id):
        raise Conflict(message, code="duplicate", field=unique_field)
    if obj is None:
        obj = model()
        db.session.add(obj)
    for field in fields:
        if field in values:
            setattr(obj, field, values[field])
    _commit_unique(unique_field, message)
    return obj


def save_institution(actor: User, institution: Institution | None, values: Mapping) -> Institution:
    begin_write(db.session)
    _require_admin(actor)
    if values.get("kind") not in {k.value for k in InstitutionKind}:
        raise RuleViolation(_l("Choose a kind of institution."), field="kind")
    return _save_unique(institution, Institution, values, INSTITUTION_FIELDS, "name_zh",
                        _l("An institution with this Chinese name already exists."))


def save_lab(actor: User, lab: Lab | None, values: Mapping, *, institution_id: int) -> Lab:
    begin_write(db.session)
    _require_admin(actor)
    if db.session.get(Institution, institution_id) is None:
        raise NotFound(_l("That institution does not exist."), field="institution_id")
    if lab is None:
        lab = Lab()
        db.session.add(lab)
    lab.institution_id = institution_id
    for field in LAB_FIELDS:
        if field in values:
            setattr(lab, field, values[field])
    db.session.commit()
    return lab


def add_lab_manager(actor: User, lab: Lab, email: str) -> User:
    begin_write(db.session)
    _require_admin(actor)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound(_l("No user has this e-mail address. Ask them to register first."), field="email")
    if not user.active:
        raise RuleViolation(_l("This user account is deactivated."), code="user_inactive", field="email")
    if user in lab.managers:
        raise Conflict(_l("%(name)s already manages this lab.", name=user.name), code="already_manager", field="email")
    lab.managers.append(user)
    db.session.commit()
    return user


def remove_lab_manager(actor: User, lab: Lab, user_id: int) -> None:
    begin_write(db.session)
    _require_admin(actor)
    user = next((u for u in lab.managers if u.id == user_id), None)
    if user is None:
        raise NotFound(_l("This person does not manage this lab."))
    lab.managers.remove(user)
    db.session.commit()


def save_category(actor: User, category: Category | None, values: Mapping) -> Category:
    begin_write(db.session)
    _require_admin(actor)
    return _save_unique(category, Category, values, CATEGORY_FIELDS, "code",
                        _l("A category with this code already exists."))


def ensure_categories() -> int:
    """Add the national classification's classes that are missing (matched by code). Idempotent:
    existing categories, including ones an admin renamed, are left alone. Returns how many were added."""
    begin_write(db.session)
    existing = set(db.session.scalars(select(Category.code)).all())
    added = 0
    for position, seed in enumerate(NATIONAL_CATEGORIES, start=1):
        if seed.code in existing:
            continue
        db.session.add(Category(code=seed.code, name_zh=seed.name_zh, name_en=seed.name_en, sort_order=position * 10))
        added += 1
    db.session.commit()
    return added
