"""Forms of the lab managers' booking pages: shape checks only; the rules live in services."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from equipshare.booking.rules import MAX_SAMPLES
from equipshare.booking.services import MAX_TEXT
from equipshare.timeutil import as_utc
from equipshare.validators import clean_text, single_line, strip_filter

# datetime-local inputs send "2026-12-07T10:00"; the first format is also the one rendered.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
MAX_SELECTION = 200


def sane_year(form, field) -> None:
    """Years far away overflow the conversion to UTC (year 1, 9999); nobody books them."""
    if field.data is not None and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_l("Enter a date between the years 2000 and 2100."))


def _local_datetime(label, required=True, **kw):
    validators = [InputRequired() if required else Optional(), sane_year]
    return DateTimeLocalField(label, format=LOCAL_FORMATS, validators=validators, **kw)


def _reason(label, required=False, **kw):
    return TextAreaField(label, filters=[strip_filter],
                         validators=[DataRequired() if required else Optional(), Length(max=MAX_TEXT), clean_text],
                         **kw)


def utc(value: datetime | None) -> datetime | None:
    """A form's naive local (Asia/Shanghai) time as aware UTC."""
    return as_utc(value) if value is not None else None


class IdListField(Field):
    """Several values under one name (checkboxes, or a hidden comma-separated list) → ints."""

    def _value(self) -> str:
        return ",".join(str(i) for i in self.data or [])

    def process_formdata(self, valuelist) -> None:
        ids: list[int] = []
        for raw in valuelist:
            for part in str(raw).split(","):
                part = part.strip()
                if not part:
                    continue
                if not part.isdigit() or len(part) > 18:
                    self.data = []
                    raise ValueError(_l("The selection contains an invalid booking number."))
                ids.append(int(part))
        if len(ids) > MAX_SELECTION:
            self.data = []
            raise ValueError(_l("Select at most %(n)s requests at once.", n=MAX_SELECTION))
        self.data = sorted(set(ids))


class DecideForm(FlaskForm):
    """Approve or reject the requests ticked in the queue."""

    booking_ids = IdListField(_l("Requests"))
    decision = StringField(_l("Decision"), validators=[InputRequired(), AnyOf(["approve", "reject"], message=_l("Choose approve or reject."))])
    reason = _reason(_l("Reason (required for a rejection; sent to the client)"))
    instrument = HiddenField()  # the queue filter to return to

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not self.booking_ids.errors and not self.booking_ids.data:
            self.booking_ids.errors.append(_l("Select at least one request."))
            ok = False
        if self.decision.data == "reject" and not self.reason.data:
            self.reason.errors.append(_l("A rejection needs a reason for the client."))
            ok = False
        return ok


class DowntimeForm(FlaskForm):
    start = _local_datetime(_l("Start (China time)"))
    end = _local_datetime(_l("End (China time)"))
    reason = _reason(_l("Reason"), required=True, description=_l("Shown in feeds and told to clients whose "
                                                                 "bookings are cancelled."))
    # Second step, when the interval overlaps bookings:
    cancel_reason = _reason(_l("Message to the clients whose bookings are cancelled"),
                            description=_l("Leave empty to use the reason above."))
    confirm_ids = IdListField()  # the bookings the manager saw and agreed to cancel

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.end.data <= self.start.data:
            self.end.errors.append(_l("The end must be after the start."))
            ok = False
        return ok


class GrantQualificationForm(FlaskForm):
    email = EmailField(_l("E-mail of the user"), filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
                       validators=[DataRequired(), Length(max=254), clean_text, single_line])
    note = StringField(_l("Note (e.g. training date)"), filters=[strip_filter],
                       validators=[Optional(), Length(max=500), clean_text, single_line])


class UsageForm(FlaskForm):
    actual_start = _local_datetime(_l("Actual start (China time)"))
    actual_end = _local_datetime(_l("Actual end (China time)"))
    samples = IntegerField(_l("Samples run"), validators=[InputRequired(), NumberRange(min=0, max=MAX_SAMPLES)])
    note = _reason(_l("Note"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.actual_end.data <= self.actual_start.data:
            self.actual_end.errors.append(_l("The end must be after the start."))
            ok = False
        return ok


class NoShowForm(FlaskForm):
    note = _reason(_l("Note"))


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token (delete, revoke)."""
