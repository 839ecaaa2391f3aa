"""Client booking forms: shape checks only. The booking rules (grid, notice, hours, clashes)
are the service's; its refusals are shown on these forms by the views.

Times are typed in China Standard Time (Asia/Shanghai) and converted to aware UTC here. None of
these forms has a fee or status field: the service computes both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SubmitField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from equipshare.booking.availability import FIRST_YEAR, LAST_YEAR
from equipshare.booking.models import MAX_BOOKING_MINUTES
from equipshare.booking.rules import MAX_SAMPLES
from equipshare.timeutil import LOCAL_TZ
from equipshare.validators import clean_text, strip_filter

MAX_TEXT = 2000
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


class SlotForm(FlaskForm):
    """A date, a start time, and an end time or a duration. ``interval`` holds the result (UTC)."""

    date = DateField(_l("Date"), validators=[InputRequired(message=_l("Enter a date."))],
                     description=_l("China Standard Time (UTC+8)."))
    start_time = TimeField(_l("Start time"), format=TIME_FORMATS,
                           validators=[InputRequired(message=_l("Enter a start time."))])
    end_time = TimeField(_l("End time"), format=TIME_FORMATS, validators=[Optional()],
                         description=_l("00:00 means midnight at the end of the day."))
    duration_minutes = IntegerField(
        _l("Or duration in minutes"), validators=[Optional(), NumberRange(
            min=1, max=MAX_BOOKING_MINUTES,
            message=_l("A booking lasts between 1 and %(max)s minutes.", max=MAX_BOOKING_MINUTES))],
        description=_l("Use a duration for bookings that run past midnight."))

    interval: tuple[datetime, datetime] | None = None

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        day: date = self.date.data
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            self.date.errors.append(_l("Enter a date between %(a)s and %(b)s.", a=FIRST_YEAR, b=LAST_YEAR))
            return False
        start = datetime.combine(day, self.start_time.data, tzinfo=LOCAL_TZ)
        end = None
        if self.end_time.data is not None:
            end_time: time = self.end_time.data
            if end_time == time(0, 0):
                end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=LOCAL_TZ)
            else:
                end = datetime.combine(day, end_time, tzinfo=LOCAL_TZ)
            if end <= start:
                self.end_time.errors.append(_l("The end must be after the start."))
                return False
            if self.duration_minutes.data is not None and end - start != timedelta(
                    minutes=self.duration_minutes.data):
                self.duration_minutes.errors.append(
                    _l("The duration does not match the end time. Give one or the other."))
                return False
        elif self.duration_minutes.data is not None:
            end = start + timedelta(minutes=self.duration_minutes.data)
        else:
            self.end_time.errors.append(_l("Enter an end time or a duration."))
            return False
        self.interval = (start.astimezone(UTC), end.astimezone(UTC))
        return True

    def prefill(self, start: datetime, end: datetime) -> None:
        """Show an existing interval (aware datetimes) as local date, start and end."""
        local_start, local_end = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
        self.date.data = local_start.date()
        self.start_time.data = local_start.time().replace(second=0, microsecond=0)
        if local_end.date() == local_start.date():
            self.end_time.data = local_end.time()
        elif local_end == datetime.combine(local_start.date() + timedelta(days=1), time.min, tzinfo=LOCAL_TZ):
            self.end_time.data = time(0, 0)
        else:
            self.duration_minutes.data = int((end - start).total_seconds() // 60)


def _purpose_field():
    return TextAreaField(_l("Purpose"), filters=[strip_filter],
                         validators=[DataRequired(message=_l("Say what the booking is for.")), Length(max=MAX_TEXT),
                                     clean_text],
                         description=_l("What you want to measure or analyse, and why."),
                         render_kw={"rows": 3, "maxlength": MAX_TEXT})


def _sample_description_field():
    return TextAreaField(_l("Sample description"), filters=[strip_filter],
                         validators=[Optional(), Length(max=MAX_TEXT), clean_text],
                         description=_l("Material, size, state, hazards, special handling."),
                         render_kw={"rows": 3, "maxlength": MAX_TEXT})


def _sample_count_field():
    return IntegerField(_l("Number of samples"), default=0,
                        validators=[InputRequired(message=_l("Enter a number (0 if none).")),
                                    NumberRange(min=0, max=MAX_SAMPLES,
                                                message=_l("Between 0 and %(max)s.", max=MAX_SAMPLES))],
                        render_kw={"min": 0, "max": MAX_SAMPLES})


class RequestForm(SlotForm):
    purpose = _purpose_field()
    sample_description = _sample_description_field()
    sample_count = _sample_count_field()
    preview = SubmitField(_l("Preview fee and check"))
    confirm = SubmitField(_l("Confirm request"))


class RescheduleForm(SlotForm):
    submit = SubmitField(_l("Move booking"))


class EditDetailsForm(FlaskForm):
    purpose = _purpose_field()
    sample_description = _sample_description_field()
    sample_count = _sample_count_field()
    submit = SubmitField(_l("Save details"))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), filters=[strip_filter],
                           validators=[Optional(), Length(max=MAX_TEXT), clean_text],
                           render_kw={"rows": 2, "maxlength": MAX_TEXT})
    submit = SubmitField(_l("Cancel booking"))


# Service error fields → form fields
FIELD_MAP = {"start": "start_time", "end": "end_time"}
