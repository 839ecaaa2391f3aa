"""Locale and timezone selection, and the bilingual-field helper."""

from __future__ import annotations

from flask import current_app, has_request_context, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    lang = session.get("lang")
    if lang in languages:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "zh"


def localized(obj, field: str) -> str:
    """``localized(instrument, "name")`` → name_zh or name_en for the current language, with fallback."""
    if obj is None:
        return ""
    lang = current_language()
    other = "en" if lang == "zh" else "zh"
    return getattr(obj, f"{field}_{lang}", None) or getattr(obj, f"{field}_{other}", None) or ""
