"""Khmer and English: choosing the reader's language, formatting dates in it, and exposing both
to templates."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import flask_babel
from babel import Locale
from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

from kb.extensions import babel

LANGUAGE_NAMES = {"en": "English", "km": "ខ្មែរ"}
# CLDR's Khmer locale writes dates with Western digits and "AM"/"PM" by default; its own
# ("native") numbering system is khmr, and its flexible day periods (B) say ព្រឹក, រសៀល, ល្ងាច,
# យប់. Khmer pages use those, so a date reads as Khmer text.
_NATIVE_DIGITS = {"khmr": str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")}


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


# --- dates and times in the reader's language ---------------------------------------------

def _locale() -> Locale:
    return get_locale() or Locale.parse("en")


def native_digits(text: str) -> str:
    """Digits in the locale's own numbering system where it has one (Khmer: ០-៩)."""
    system = _locale().other_numbering_systems.get("native")
    table = _NATIVE_DIGITS.get(system) if _locale().language == "km" else None
    return text.translate(table) if table else text


def _time_pattern(locale: Locale, style: str) -> str | None:
    """The locale's time pattern with its flexible day period instead of AM/PM (Khmer only)."""
    if locale.language != "km":
        return None
    return str(locale.time_formats[style].pattern).replace(" a", " B").replace("a", "B")


def format_datetime(value: datetime | None, style: str = "medium") -> str:
    """A moment (naive UTC, as stored) in the reader's language and time zone."""
    if value is None:
        return ""
    locale = _locale()
    time_pattern = _time_pattern(locale, "short" if style == "short" else "medium")
    if time_pattern is None:
        return flask_babel.format_datetime(value, style)
    date_pattern = str(locale.date_formats[style].pattern)
    pattern = str(locale.datetime_formats[style]).replace("{1}", date_pattern).replace(
        "{0}", time_pattern)
    return native_digits(flask_babel.format_datetime(value, pattern))


def format_date(value: date | datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    return native_digits(flask_babel.format_date(value, style))


def format_clock(value: str | time | None) -> str:
    """A time of day typed as HH:MM (a workshop's agenda), as the reader's language writes it."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = time.fromisoformat(value)
        except ValueError:
            return value
    pattern = _time_pattern(_locale(), "short")
    if pattern is None:
        return value.strftime("%H:%M")
    from babel.dates import format_time

    return native_digits(format_time(value, pattern, locale=_locale()))


def format_timedelta(value: timedelta, **options) -> str:
    return native_digits(flask_babel.format_timedelta(value, **options))


def format_year(value: date | int | None) -> str:
    if value is None:
        return ""
    return native_digits(str(value.year if isinstance(value, date) else value))


def machine_datetime(value: datetime) -> str:
    """For <time datetime>: UTC to the second (HTML allows at most three decimals)."""
    return value.replace(microsecond=0).isoformat() + "Z"


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))
    # The same filter names Flask-Babel registers, so every template formats through here.
    app.jinja_env.filters.update(
        datetimeformat=format_datetime, dateformat=format_date, timedeltaformat=format_timedelta,
        clockformat=format_clock, yearformat=format_year, digits=native_digits,
        machine_datetime=machine_datetime)

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
