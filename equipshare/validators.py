"""WTForms validators shared by every feature's forms."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

# Characters a person never types into a form: NUL and the other C0 controls except tab/newline.
_FORBIDDEN = {chr(c) for c in range(32)} - {"\t", "\n", "\r"} | {"\x7f"}


def clean_text(form, field) -> None:
    """Refuse NUL and other control characters (they break PostgreSQL and hide content)."""
    value = field.data
    if isinstance(value, str) and any(ch in _FORBIDDEN for ch in value):
        raise ValidationError(_l("This field contains characters that are not allowed."))


def single_line(form, field) -> None:
    value = field.data
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        raise ValidationError(_l("This field must be a single line."))


def http_url(form, field) -> None:
    """Only absolute http(s) URLs: no javascript:, data:, or relative links."""
    value = (field.data or "").strip()
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc or any(c.isspace() for c in value):
        raise ValidationError(_l("Enter a web address starting with http:// or https://."))


def strip_filter(value):
    return value.strip() if isinstance(value, str) else value
