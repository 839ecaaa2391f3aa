"""Render a mail in its recipient's language, never failing the caller.

A template that fails in the recipient's language is tried in the other one; if every
language fails, a plain-text fallback (the subject and a link) goes out. What failed is
returned in ``error`` and recorded on the outbox row, so an admin can see and fix it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale

FALLBACK_SUBJECT = "EquipShare"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None
    locale: str
    error: str | None = None


def _languages(locale: str | None) -> list[str]:
    languages = list(current_app.config["LANGUAGES"])
    first = locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]
    return [first] + [lang for lang in languages if lang != first]


def _render(template_name: str, /, **context) -> str:
    """A mail template with its own context and the Jinja globals only: no request context
    processors (mails are also rendered by scheduled jobs, outside any request, and must not
    depend on who is browsing), which also saves their per-render work in the booking request."""
    return current_app.jinja_env.get_template(template_name).render(context)


def render_mail(template: str, subject, locale: str | None, fallback_text: str = "", **context) -> RenderedMail:
    """``template`` names ``templates/<template>.txt`` and ``.html``; ``subject`` is a (lazy)
    string translated here. Both templates get ``subject`` and ``locale`` in their context."""
    languages = _languages(locale)
    errors: list[str] = []
    for lang in languages:
        try:
            with force_locale(lang):
                subject_text = " ".join(str(subject).split())  # a header: one line
                text = _render(f"{template}.txt", subject=subject_text, locale=lang, **context)
                html = _render(f"{template}.html", subject=subject_text, locale=lang, **context)
        except Exception as exc:  # noqa: BLE001 - any template fault must not lose the mail
            current_app.logger.exception("Mail template %s failed in %s", template, lang)
            errors.append(f"{lang}: {type(exc).__name__}: {exc}")
            continue
        return RenderedMail(subject_text, text, html, lang, "; ".join(errors) or None)
    try:
        with force_locale(languages[0]):
            subject_text = " ".join(str(subject).split()) or FALLBACK_SUBJECT
    except Exception:  # noqa: BLE001
        subject_text = FALLBACK_SUBJECT
    text = "\n\n".join(part for part in (subject_text, fallback_text) if part)
    return RenderedMail(subject_text, text, None, languages[0], "; ".join(errors))
