"""Billing forms: shape checks only; the rules (who, how much, which state) live in services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import MonthField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from equipshare.billing.exports import MODE_LABELS
from equipshare.billing.rules import MAX_INCREMENT_MINUTES
from equipshare.money import yuan_to_fen
from equipshare.validators import clean_text, single_line, strip_filter

CLASS_LABELS = {
    "internal": _l("Internal (same institution)"),
    "academic": _l("Academic (other universities and institutes)"),
    "enterprise": _l("Enterprise (firms)"),
}


def fen_text(fen: int | None) -> str:
    fen = int(fen or 0)
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{cents:02d}"


class YuanField(StringField):
    """An amount typed in yuan ("85.50"); ``.fen`` holds it in fen once validated."""

    def __init__(self, label=None, validators=None, allow_negative: bool = False, **kwargs):
        super().__init__(label, validators, filters=[strip_filter], **kwargs)
        self.allow_negative = allow_negative
        self.fen: int | None = None

    def pre_validate(self, form) -> None:
        self.fen = None
        if not self.data:
            return
        try:
            fen = yuan_to_fen(self.data)
        except ValueError:
            raise ValidationError(_l("Enter an amount in yuan with at most two decimals, e.g. 85.50.")) from None
        if fen < 0 and not self.allow_negative:
            raise ValidationError(_l("The amount cannot be negative."))
        self.fen = fen


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BillingPolicyForm(FlaskForm):
    billing_mode = SelectField(_l("Billable time"), choices=list(MODE_LABELS.items()),
                               validators=[InputRequired()])
    billing_increment_minutes = IntegerField(
        _l("Billing increment (minutes)"), validators=[InputRequired(), NumberRange(1, MAX_INCREMENT_MINUTES)],
        description=_l("Billable time is rounded up to a multiple of this, e.g. 15 or 30."))
    late_cancel_fee_percent = IntegerField(
        _l("Late cancellation fee (percentage of the quote)"), validators=[InputRequired(), NumberRange(0, 100)])
    no_show_fee_percent = IntegerField(
        _l("No-show fee (percentage of the quote)"), validators=[InputRequired(), NumberRange(0, 100)])


class AdjustChargeForm(FlaskForm):
    amount = YuanField(_l("New amount (CNY)"), validators=[InputRequired()], allow_negative=True)
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000), clean_text],
                           filters=[strip_filter], description=_l("Kept in the charge's history."))


class CorrectionForm(FlaskForm):
    amount = YuanField(_l("Correction (CNY)"), validators=[InputRequired()], allow_negative=True,
                       description=_l("Positive to charge more, negative to refund. "
                                      "It appears on the next statement."))
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000), clean_text],
                           filters=[strip_filter])


class RunStatementsForm(FlaskForm):
    period = MonthField(_l("Month"), validators=[InputRequired(message=_l("Choose a month."))])


class ProgrammeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200), clean_text, single_line],
                       filters=[strip_filter])
    authority = StringField(_l("Issuing authority"),
                            validators=[InputRequired(), Length(max=200), clean_text, single_line],
                            filters=[strip_filter])
    share_percent = StringField(_l("Share of the fee covered (%)"), validators=[InputRequired()],
                                filters=[strip_filter], description=_l("For example 60 for 60 %."))
    yearly_cap = YuanField(_l("Yearly cap per organisation (CNY)"), validators=[InputRequired()])
    customer_classes = MultiCheckboxField(_l("Eligible customer classes"), choices=list(CLASS_LABELS.items()))
    instrument_ids = SelectMultipleField(_l("Eligible instruments"), coerce=int, validators=[Optional()],
                                         description=_l("Select none for every instrument."))
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    valid_until = DateField(_l("Valid until"), validators=[InputRequired()])
    active = BooleanField(_l("Active (applies to statements issued from now on)"), default=True)

    def validate_share_percent(self, field) -> None:
        try:
            value = Decimal(field.data)
        except (InvalidOperation, TypeError):
            raise ValidationError(_l("Enter a percentage, e.g. 60 or 33.33.")) from None
        if not value.is_finite() or value != value.quantize(Decimal("0.01")):
            raise ValidationError(_l("Enter a percentage with at most two decimals."))
        if not Decimal(0) < value <= Decimal(100):
            raise ValidationError(_l("The share of the fee must be more than 0 % and at most 100 %."))

    @property
    def share_bp(self) -> int:
        return int(Decimal(self.share_percent.data) * 100)

    def validate_customer_classes(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one eligible customer class."))


class GrantForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[InputRequired()])
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    amount = YuanField(_l("Amount (CNY)"), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000), clean_text], filters=[strip_filter])
