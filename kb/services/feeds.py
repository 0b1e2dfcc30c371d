"""What the Atom feeds carry: a search, run as an anonymous reader, newest first.

A feed is the search with the same arguments, so a subscription to a search shows what the
search page shows a visitor; it is always run as nobody, so signing in never lets a members-only
resource or a draft into a feed that could be passed around.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import Commune, District, Organisation, Province, ResourceKind
from kb.services import search
from kb.services.errors import ValidationError

FEED_SIZE = 30

# Filters whose values name a vocabulary entry: (column matched, compared case-insensitively).
_VOCABULARY_FILTERS = {
    "kind": (ResourceKind.code, False),
    "org": (Organisation.short_name, True),
    "province": (Province.code, False),
    "district": (District.code, False),
    "commune": (Commune.code, False),
}


def _check_vocabulary(filters: dict[str, list[str]]) -> None:
    """A subscription with a mistyped filter would stay empty forever: refuse it instead."""
    for name, (column, any_case) in _VOCABULARY_FILTERS.items():
        values = filters.get(name, [])
        if not values:
            continue
        wanted = {v.lower() for v in values} if any_case else set(values)
        known_column = func.lower(column) if any_case else column
        known = set(db.session.scalars(select(known_column).where(known_column.in_(wanted))))
        unknown = sorted(wanted - known)
        if unknown:
            raise ValidationError(_l("Unknown %(name)s: %(value)s", name=name,
                                     value=", ".join(unknown)), field=name)


def feed_params(args) -> search.SearchParams:
    """The search a feed runs for these query arguments. Raises ValidationError."""
    params = search.params_from(args)
    _check_vocabulary(params.filters)
    params.sort, params.page = "published", 1  # newest publication first
    if not args.get("per_page"):
        params.per_page = FEED_SIZE
    return params


def newest_public(params: search.SearchParams) -> search.SearchPage:
    """The newest published public resources matching `params`, whoever asks."""
    return search.run(None, params)
