"""Catalogue forms: shape checks only; permissions and cross-record rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from equipshare.catalogue.display import BOOKING_MODE_LABELS, WEEKDAY_NAMES, duration_words, hhmm
from equipshare.catalogue.models import InstitutionKind, InstrumentStatus
from equipshare.catalogue.photos import PhotoError, ProcessedPhoto, process_photo
from equipshare.catalogue.services import (
    CUSTOMER_CLASSES,
    MAX_DURATION_MINUTES,
    MAX_HORIZON_DAYS,
    MAX_LATE_CANCEL_HOURS,
    MAX_NOTICE_HOURS,
    MAX_OPEN_REQUESTS,
    RATE_FIELDS,
    SLOT_CHOICES,
    booking_rule_errors,
    fee_error,
)
from equipshare.money import yuan_to_fen
from equipshare.validators import clean_text, http_url, single_line, strip_filter

LONG_TEXT = 5000
STATUS_LABELS = {
    InstrumentStatus.ACTIVE: _l("Active — open for bookings"),
    InstrumentStatus.MAINTENANCE: _l("Maintenance — listed, not bookable"),
    InstrumentStatus.RETIRED: _l("Retired — hidden from the public catalogue"),
}
KIND_LABELS = {
    InstitutionKind.UNIVERSITY: _l("University"),
    InstitutionKind.INSTITUTE: _l("Research institute"),
    InstitutionKind.COLLEGE: _l("College"),
}
PHOTO_ERRORS = {
    "empty": _l("The file is empty."),
    "too_large": _l("The photo is too large."),
    "not_an_image": _l("This file is not a picture we can read. Upload a JPEG, PNG or WebP photo."),
    "wrong_type": _l("Only JPEG, PNG and WebP photos are accepted."),
    "too_many_pixels": _l("The photo has too many pixels."),
}


def _line(label, required=True, max_length=200, **kw):
    validators = [InputRequired() if required else Optional(), Length(max=max_length), clean_text, single_line]
    return StringField(label, validators=validators, filters=[strip_filter], **kw)


def _text(label, max_length=LONG_TEXT, **kw):
    return TextAreaField(label, validators=[Optional(), Length(max=max_length), clean_text],
                         filters=[strip_filter], **kw)


def _count(label, low, high, **kw):
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=low, max=high)], **kw)


def blank_to_none(value):
    return value if value not in ("", None) else None


def fen_to_text(fen: int | None) -> str:
    fen = fen or 0
    return f"{fen // 100}.{fen % 100:02d}"


def _valid_fee(form, field) -> None:
    text = (field.data or "").strip()
    if not text:
        field.fen = 0
        return
    if len(text) > 20 or any(not (c.isdigit() or c in ".,-+ ") for c in text):
        raise ValidationError(_l("Enter an amount in yuan, e.g. 120 or 85.50."))
    try:
        fen = yuan_to_fen(text)
    except ValueError:
        raise ValidationError(_l("Enter an amount in yuan with at most two decimals, e.g. 85.50.")) from None
    problem = fee_error(fen)
    if problem:
        raise ValidationError(problem)
    field.fen = fen


class RateForm(Form):
    """One customer class's fees, typed in yuan. A plain Form: the outer form carries CSRF."""

    hourly_rate_fen = StringField(_l("Hourly rate (¥)"), validators=[_valid_fee])
    per_sample_fen = StringField(_l("Per-sample fee (¥)"), validators=[_valid_fee])
    setup_fee_fen = StringField(_l("Set-up fee (¥)"), validators=[_valid_fee])
    minimum_charge_fen = StringField(_l("Minimum charge (¥)"), validators=[_valid_fee])

    def fen_values(self) -> dict[str, int]:
        return {name: getattr(self[name], "fen", 0) for name in RATE_FIELDS}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _time_choices(first: int, last: int) -> list[tuple[int, str]]:
    return [(m, hhmm(m)) for m in range(first, last + 1, 30)]


class InstrumentForm(FlaskForm):
    lab_id = SelectField(_l("Lab"), coerce=int, validators=[InputRequired()])
    category_id = SelectField(_l("Category"), coerce=int, validators=[InputRequired()])
    name_zh = _line(_l("Name (Chinese)"))
    name_en = _line(_l("Name (English)"))
    model = _line(_l("Model"), required=False)
    manufacturer = _line(_l("Manufacturer"), required=False)
    location = _line(_l("Location (building and room)"), required=False, max_length=300)
    description_zh = _text(_l("Description (Chinese)"))
    description_en = _text(_l("Description (English)"))
    specs = _text(_l("Specifications"), description=_l('One per line, as "name: value", e.g. "Resolution: 1.0 nm".'))
    photo = FileField(_l("Photo"), description=_l("JPEG, PNG or WebP."))
    remove_photo = BooleanField(_l("Remove the current photo"))
    status = SelectField(_l("Status"), choices=list(STATUS_LABELS.items()))
    booking_mode = SelectField(_l("Booking mode"), choices=list(BOOKING_MODE_LABELS.items()))

    slot_minutes = SelectField(_l("Slot grid"), coerce=int,
                               description=_l("Bookings start and end on multiples of this, counted from midnight."))
    min_duration_minutes = _count(_l("Shortest booking (minutes)"), 1, MAX_DURATION_MINUTES)
    max_duration_minutes = _count(_l("Longest booking (minutes)"), 1, MAX_DURATION_MINUTES)
    min_notice_hours = _count(_l("Minimum notice (hours)"), 0, MAX_NOTICE_HOURS)
    horizon_days = _count(_l("Booking horizon (days ahead)"), 1, MAX_HORIZON_DAYS)
    open_minute = SelectField(_l("Opens at"), coerce=int, choices=_time_choices(0, 1410))
    close_minute = SelectField(_l("Closes at"), coerce=int, choices=_time_choices(30, 1440))
    open_weekdays = MultiCheckboxField(_l("Open on"), choices=[(str(i), name) for i, name in enumerate(WEEKDAY_NAMES, 1)])
    requires_approval = BooleanField(_l("Requests need the lab's approval"))
    late_cancel_hours = _count(_l("Late-cancellation window (hours before start)"), 0, MAX_LATE_CANCEL_HOURS)
    max_open_requests_per_org = _count(_l("Open requests allowed per organisation"), 1, MAX_OPEN_REQUESTS)

    rate_internal = FormField(RateForm, label=_l("Internal"))
    rate_academic = FormField(RateForm, label=_l("Academic"))
    rate_enterprise = FormField(RateForm, label=_l("Enterprise"))

    def __init__(self, *args, max_photo_bytes: int = 5 * 1024 * 1024, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_photo_bytes = max_photo_bytes
        self.processed_photo: ProcessedPhoto | None = None
        self.slot_minutes.choices = [(m, duration_words(m)) for m in SLOT_CHOICES]

    @staticmethod
    def initial_data(instrument) -> dict:
        """Field values for editing ``instrument`` (GET)."""
        data = {name: getattr(instrument, name) for name in (
            "lab_id", "category_id", "name_zh", "name_en", "model", "manufacturer", "location",
            "description_zh", "description_en", "specs", "status", "booking_mode", "slot_minutes",
            "min_duration_minutes", "max_duration_minutes", "min_notice_hours", "horizon_days",
            "open_minute", "close_minute", "requires_approval", "late_cancel_hours",
            "max_open_requests_per_org")}
        data["open_weekdays"] = list(instrument.open_weekdays or "")
        for customer_class in CUSTOMER_CLASSES:
            card = instrument.rate_for(customer_class)
            data[f"rate_{customer_class}"] = {f: fen_to_text(getattr(card, f) if card else 0) for f in RATE_FIELDS}
        return data

    @staticmethod
    def default_data() -> dict:
        return {"status": InstrumentStatus.ACTIVE, "booking_mode": "service", "slot_minutes": 30,
                "min_duration_minutes": 30, "max_duration_minutes": 480, "min_notice_hours": 24,
                "horizon_days": 60, "open_minute": 480, "close_minute": 1080,
                "open_weekdays": list("12345"), "requires_approval": True, "late_cancel_hours": 24,
                "max_open_requests_per_org": 3}

    def validate_photo(self, field) -> None:
        upload = field.data
        if not isinstance(upload, FileStorage) or not upload.filename:
            return
        data = upload.stream.read(self.max_photo_bytes + 1)
        try:
            self.processed_photo = process_photo(data, self.max_photo_bytes)
        except PhotoError as error:
            if error.reason == "too_large":
                raise ValidationError(_l("The photo is too large (at most %(mb)s MB).",
                                         mb=f"{self.max_photo_bytes / 1024 / 1024:g}")) from None
            raise ValidationError(PHOTO_ERRORS.get(error.reason, PHOTO_ERRORS["not_an_image"])) from None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for field, message in booking_rule_errors(self.instrument_values()).items():
            if not self[field].errors:
                self[field].errors = [*self[field].errors, message]
                ok = False
        return ok

    def instrument_values(self) -> dict:
        values = {
            name: self[name].data for name in (
                "name_zh", "name_en", "status", "booking_mode", "slot_minutes", "min_duration_minutes",
                "max_duration_minutes", "min_notice_hours", "horizon_days", "open_minute", "close_minute",
                "requires_approval", "late_cancel_hours", "max_open_requests_per_org")
        }
        for name in ("model", "manufacturer", "location", "description_zh", "description_en", "specs"):
            values[name] = blank_to_none(self[name].data)
        values["open_weekdays"] = "".join(sorted(set(self.open_weekdays.data or [])))
        return values

    def rate_values(self) -> dict[str, dict[str, int]]:
        return {c: self[f"rate_{c}"].form.fen_values() for c in CUSTOMER_CLASSES}


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=list(STATUS_LABELS.items()))


class InstitutionForm(FlaskForm):
    name_zh = _line(_l("Name (Chinese)"))
    name_en = _line(_l("Name (English)"))
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()))
    city = _line(_l("City"), max_length=100)
    address = _line(_l("Address"), required=False, max_length=300)
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300), clean_text, http_url],
                          filters=[strip_filter])
    description = _text(_l("Description"))

    def values(self) -> dict:
        return {
            "name_zh": self.name_zh.data, "name_en": self.name_en.data, "kind": self.kind.data,
            "city": self.city.data, "address": blank_to_none(self.address.data),
            "website": blank_to_none(self.website.data), "description": blank_to_none(self.description.data),
        }


class LabForm(FlaskForm):
    institution_id = SelectField(_l("Institution"), coerce=int, validators=[InputRequired()])
    name_zh = _line(_l("Name (Chinese)"))
    name_en = _line(_l("Name (English)"))
    location = _line(_l("Location"), required=False, max_length=300)
    contact_name = _line(_l("Contact person"), required=False, max_length=100)
    contact_phone = _line(_l("Contact phone"), required=False, max_length=40)
    contact_email = StringField(_l("Contact e-mail"),
                                validators=[Optional(), Length(max=254), clean_text, Email()],
                                filters=[strip_filter])
    description = _text(_l("Description"))

    def values(self) -> dict:
        values = {name: blank_to_none(self[name].data) for name in (
            "location", "contact_name", "contact_phone", "contact_email", "description")}
        values.update(name_zh=self.name_zh.data, name_en=self.name_en.data)
        return values


class ManagerForm(FlaskForm):
    email = StringField(_l("E-mail of the user to add as manager"),
                        validators=[InputRequired(), Length(max=254), clean_text, Email()],
                        filters=[strip_filter])


class CategoryForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=10), clean_text,
                                               Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Letters, digits, dot, dash or underscore only."))],
                       filters=[strip_filter])
    name_zh = _line(_l("Name (Chinese)"), max_length=100)
    name_en = _line(_l("Name (English)"), max_length=100)
    sort_order = IntegerField(_l("Sort order"), default=0, validators=[InputRequired(), NumberRange(min=0, max=100000)])

    def values(self) -> dict:
        return {"code": self.code.data, "name_zh": self.name_zh.data, "name_en": self.name_en.data,
                "sort_order": self.sort_order.data}


class ConfirmForm(FlaskForm):
    """A bare form for POST buttons (CSRF only)."""
