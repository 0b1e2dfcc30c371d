"""The group's calendar day: dates such as a consultation's deadline are days in Cambodia."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def timezone() -> ZoneInfo:
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or "Asia/Phnom_Penh")


def local_today() -> date:
    """Today where the group works (Asia/Phnom_Penh unless configured otherwise)."""
    return datetime.now(timezone()).date()
