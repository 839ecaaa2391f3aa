"""The form that creates a feed. Which scopes a user may choose is set by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length


class FeedForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=100)],
                       description=_l("Optional. For example the device you subscribe on: “Office PC”, “Phone”."))
    scope = SelectField(_l("Calendar"), validators=[DataRequired()], choices=[])
