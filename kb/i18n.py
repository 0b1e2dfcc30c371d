"""Khmer and English: choosing the reader's language and exposing it to templates."""
from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

from kb.extensions import babel

LANGUAGE_NAMES = {"en": "English", "km": "ខ្មែរ"}


def select_locale() -> str:
    """The reader's explicit choice (cookie, then profile), else the browser's, else English."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the `kb` command speaks English
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(current_app.config["LANGUAGE_COOKIE"])
    if chosen in languages:
        return chosen
    user_locale = getattr(current_user, "locale", None) if current_user else None
    if user_locale in languages:
        return user_locale
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    return str(get_locale() or "en")


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))

    @app.context_processor
    def language_context():
        return {"current_language": current_language(), "language_names": LANGUAGE_NAMES,
                "label": label}


def _labels():
    from flask_babel import lazy_gettext as _l

    from kb.models import AccountStatus, Role, Status

    return {
        Role.MEMBER: _l("Member"), Role.CONTRIBUTOR: _l("Contributor"),
        Role.EDITOR: _l("Editor"), Role.ADMIN: _l("Administrator"),
        AccountStatus.PENDING: _l("Waiting for approval"), AccountStatus.ACTIVE: _l("Active"),
        AccountStatus.DEACTIVATED: _l("Deactivated"), AccountStatus.DECLINED: _l("Declined"),
        Status.DRAFT: _l("Draft"), Status.SUBMITTED: _l("Submitted for review"),
        Status.PUBLISHED: _l("Published"), Status.REJECTED: _l("Returned for changes"),
        Status.ARCHIVED: _l("Archived"),
    }


def label(value) -> str:
    """The reader's-language label of a role, account state or resource status."""
    return str(_labels().get(value, value))
