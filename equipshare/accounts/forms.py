"""Accounts forms: shape checks only. Uniqueness and business rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from equipshare.accounts import credit_code as credit_codes
from equipshare.accounts.auth import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from equipshare.accounts.models import MemberRole, OrgKind
from equipshare.validators import clean_text, single_line, strip_filter


def lower_filter(value):
    return value.strip().lower() if isinstance(value, str) else value


def credit_code_filter(value):
    return credit_codes.normalise(value) if isinstance(value, str) else value


def valid_credit_code(form, field) -> None:
    if field.data and not credit_codes.is_valid(field.data):
        raise ValidationError(
            _l("This is not a valid unified social credit code (18 characters; check the last one).")
        )


_PHONE = Regexp(r"^[0-9+()\- ]{5,40}$", message=_l("Enter a phone number (digits, spaces, + - ( ))."))


def _email(label):
    return EmailField(
        label,
        filters=[lower_filter],
        validators=[DataRequired(), Length(max=254), clean_text, Email(message=_l("Enter a valid e-mail address."))],
    )


def _line(label, max_length, required=True, **kw):
    return StringField(
        label,
        filters=[strip_filter],
        validators=[DataRequired() if required else Optional(), Length(max=max_length), clean_text, single_line],
        **kw,
    )


def _new_password(label=None):
    return PasswordField(
        label or _l("Password"),
        validators=[InputRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH), clean_text],
        description=_l("At least %(n)d characters. A few unrelated words make a good password.", n=PASSWORD_MIN_LENGTH),
    )


def _confirm():
    return PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), filters=[lower_filter], validators=[DataRequired(), Length(max=254), clean_text])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)])
    remember = BooleanField(_l("Keep me logged in on this device"))
    submit = SubmitField(_l("Log in"))


OTHER_INSTITUTION = 0


class RegistrationForm(FlaskForm):
    """An organisation and its first user, who becomes the organisation's admin."""

    org_kind = RadioField(
        _l("Type of organisation"),
        choices=[(OrgKind.ENTERPRISE.value, _l("Firm (enterprise)")),
                 (OrgKind.ACADEMIC.value, _l("University, college or research institute"))],
        default=OrgKind.ENTERPRISE.value,
        validators=[InputRequired()],
    )
    org_name = _line(_l("Name of the organisation"), 200, required=False,
                     description=_l("Firms: the registered name. Academic users: department or group "
                                    "(leave empty to use the institution's name)."))
    credit_code = StringField(
        _l("Unified social credit code (firms)"),
        filters=[credit_code_filter],
        validators=[Optional(), Length(max=18), clean_text, valid_credit_code],
        description=_l("The 18-character code on the business licence."),
    )
    institution_id = SelectField(_l("Institution (academic users)"), coerce=int, default=OTHER_INSTITUTION)
    institution_name = _line(_l("Other institution"), 200, required=False,
                             description=_l("If your institution is not in the list, type its name."))
    contact_name = _line(_l("Contact person"), 100)
    contact_phone = StringField(_l("Contact phone"), filters=[strip_filter],
                                validators=[DataRequired(), Length(max=40), clean_text, _PHONE])
    contact_email = _email(_l("Contact e-mail"))
    name = _line(_l("Your name"), 100)
    email = _email(_l("Your e-mail (used to log in)"))
    password = _new_password()
    password_confirm = _confirm()
    submit = SubmitField(_l("Register"))

    def set_institution_choices(self, institutions) -> None:
        self.institution_id.choices = [(OTHER_INSTITUTION, _l("— Another institution (type its name below) —"))] + [
            (inst.id, label) for inst, label in institutions
        ]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.org_kind.data == OrgKind.ENTERPRISE:
            if not self.org_name.data:
                self.org_name.errors.append(_l("Enter the registered name of the firm."))
                ok = False
            if not self.credit_code.data:
                self.credit_code.errors.append(_l("Firms must give their unified social credit code."))
                ok = False
        elif self.org_kind.data == OrgKind.ACADEMIC:
            if self.institution_id.data == OTHER_INSTITUTION and not self.institution_name.data:
                self.institution_name.errors.append(_l("Choose your institution or type its name."))
                ok = False
        return ok


class JoinRequestForm(FlaskForm):
    """Ask to join an organisation that is already registered."""

    credit_code = StringField(
        _l("Unified social credit code of the organisation"),
        filters=[credit_code_filter],
        validators=[DataRequired(), Length(max=18), clean_text, valid_credit_code],
    )
    name = _line(_l("Your name"), 100)
    phone = StringField(_l("Phone"), filters=[strip_filter], validators=[Optional(), Length(max=40), clean_text, _PHONE])
    email = _email(_l("Your e-mail (used to log in)"))
    password = _new_password()
    password_confirm = _confirm()
    submit = SubmitField(_l("Ask to join"))


class AccountForm(FlaskForm):
    name = _line(_l("Name"), 100)
    phone = StringField(_l("Phone"), filters=[strip_filter], validators=[Optional(), Length(max=40), clean_text, _PHONE])
    locale = SelectField(_l("Language"), choices=[("zh", "简体中文"), ("en", "English")],
                         validators=[InputRequired()])
    submit = SubmitField(_l("Save"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[InputRequired(), Length(max=PASSWORD_MAX_LENGTH)])
    password = _new_password(_l("New password"))
    password_confirm = _confirm()
    submit = SubmitField(_l("Change password"))


class ForgotPasswordForm(FlaskForm):
    email = _email(_l("E-mail"))
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(FlaskForm):
    password = _new_password(_l("New password"))
    password_confirm = _confirm()
    submit = SubmitField(_l("Set the new password"))


class AcceptInvitationForm(FlaskForm):
    name = _line(_l("Your name"), 100)
    password = _new_password()
    password_confirm = _confirm()
    submit = SubmitField(_l("Create my account"))


class InviteForm(FlaskForm):
    email = _email(_l("E-mail of the person to invite"))
    submit = SubmitField(_l("Send invitation"))


class DecisionForm(FlaskForm):
    """Approve/reject. Rendered with two buttons named ``decision``."""

    decision = StringField(validators=[InputRequired(), AnyOf(["approve", "reject"])])
    reason = TextAreaField(_l("Reason (required to reject; the applicant sees it)"),
                           filters=[strip_filter], validators=[Optional(), Length(max=2000), clean_text])


class RoleForm(FlaskForm):
    role = StringField(validators=[InputRequired(), AnyOf([r.value for r in MemberRole])])


class EmptyForm(FlaskForm):
    """CSRF only, for one-button POSTs."""
