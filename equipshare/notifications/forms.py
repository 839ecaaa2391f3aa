"""Forms of the notification settings and the admin pages (shape only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField
from wtforms.validators import AnyOf
from wtforms.widgets import CheckboxInput, ListWidget


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PreferencesForm(FlaskForm):
    # Checked = wanted. Choices are set by the view (managers see more).
    topics = MultiCheckboxField(_l("E-mails I want to receive"), choices=[])
    muted_instruments = MultiCheckboxField(_l("Muted instruments"), coerce=int, choices=[])


class MuteInstrumentForm(FlaskForm):
    muted = HiddenField(validators=[AnyOf(["0", "1"])])
    next = HiddenField()


class ActionForm(FlaskForm):
    """CSRF only (retry / dismiss buttons)."""
