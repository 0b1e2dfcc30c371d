"""Searching the knowledge base, for the search page, the API and the feeds.

The index finds and ranks; the database has the last word: every result is loaded from the
database and checked with the access rules again before it is shown, so a change the index has
not caught up with yet can never reveal anything.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb import search
from kb.extensions import db
from kb.models import (LANGUAGES, GlossaryEntry, Objective, Organisation, Province, Resource,
                       Role,
                       ResourceKind, Tag)
from kb.services import access, glossary, indexing
from kb.services.errors import ValidationError

SORTS = ("relevance", "newest", "oldest", "title", "published")
LIST_FILTERS = ("kind", "objective", "tag", "org", "language", "province", "district", "commune")
MAX_PER_PAGE = 100
MAX_PAGE = 500
MAX_FILTER_VALUES = 20  # values of one filter (kind=a&kind=b...)
YEARS = (1900, 2200)  # year_from and year_to
MAX_QUERY_CHARS = search.MAX_QUERY_CHARS


@dataclass
class SearchParams:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20

    def active_filters(self) -> list[tuple[str, str]]:
        """(name, value) of every filter set, for chips and links."""
        chips = [(name, value) for name, values in self.filters.items() for value in values]
        if self.year_from is not None:
            chips.append(("year_from", str(self.year_from)))
        if self.year_to is not None:
            chips.append(("year_to", str(self.year_to)))
        return chips

    def as_args(self, **changes) -> list[tuple[str, str]]:
        """Query-string arguments for this search (with `changes`), for links."""
        args = [("q", self.q)] if self.q else []
        args += self.active_filters()
        if self.sort != "relevance":
            args.append(("sort", self.sort))
        if self.per_page != 20:
            args.append(("per_page", str(self.per_page)))
        drop = changes.pop("drop", None)
        if drop is not None:
            args = [a for a in args if a != drop]
        for name, value in changes.items():
            args = [a for a in args if a[0] != name]
            if value is not None:
                args.append((name, str(value)))
        return args


def _int(args, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(_l("%(name)s must be a whole number.", name=name),
                              field=name) from None
    if not low <= value <= high:
        raise ValidationError(_l("%(name)s must be between %(low)d and %(high)d.", name=name,
                                 low=low, high=high), field=name)
    return value


def params_from(args) -> SearchParams:
    """Search parameters from a query string (a MultiDict); ValidationError for bad ones."""
    q = args.get("q") or ""
    if len(q) > search.MAX_QUERY_CHARS:
        raise ValidationError(_l("The search is too long: at most %(n)d characters.",
                                 n=search.MAX_QUERY_CHARS), field="q")
    filters = {}
    for name in LIST_FILTERS:
        values = [v.strip() for v in args.getlist(name) if v and v.strip()]
        if len(values) > MAX_FILTER_VALUES:
            raise ValidationError(_l("At most %(n)d values of one filter.", n=MAX_FILTER_VALUES),
                                  field=name)
        if values:
            filters[name] = values
    if "language" in filters and any(v not in LANGUAGES for v in filters["language"]):
        raise ValidationError(_l("Languages are en (English) and km (Khmer)."), field="language")
    if "objective" in filters and any(v not in ("1", "2", "3") for v in filters["objective"]):
        raise ValidationError(_l("Objectives are 1, 2 or 3."), field="objective")
    sort = args.get("sort") or "relevance"
    if sort not in SORTS:
        raise ValidationError(_l("Sort by relevance, newest, oldest, title or published."),
                              field="sort")
    return SearchParams(
        q=q.strip(), filters=filters,
        year_from=_int(args, "year_from", None, *YEARS),
        year_to=_int(args, "year_to", None, *YEARS),
        sort=sort, page=_int(args, "page", 1, 1, MAX_PAGE),
        per_page=_int(args, "per_page", 20, 1, MAX_PER_PAGE))


def params(q: str = "", sort: str = "relevance", page: int = 1, per_page: int = 20,
           year_from: int | None = None, year_to: int | None = None,
           **filters: list[str]) -> SearchParams:
    """Search parameters already checked at the edge (the API's schema has the same limits as
    params_from)."""
    cleaned = {name: [v.strip() for v in values if v.strip()]
               for name, values in filters.items() if name in LIST_FILTERS}
    return SearchParams(q=q.strip(), filters={k: v for k, v in cleaned.items() if v},
                        year_from=year_from, year_to=year_to, sort=sort, page=page,
                        per_page=per_page)


@dataclass
class ResultItem:
    resource: Resource
    score: float
    snippet: Markup


@dataclass
class SearchPage:
    params: SearchParams
    total: int
    items: list[ResultItem]
    facets: dict[str, dict[str, int]]
    suggestion: str | None
    matched_all_words: bool = True
    timed_out: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.params.per_page))


def glossary_groups() -> list[list[str]]:
    """The glossary's groups of equivalent expressions, read once per request (a search may
    parse twice: the query and a did-you-mean suggestion)."""
    groups = g.get("kb_glossary_groups") if has_request_context() else None
    if groups is None:
        groups = [entry.expressions() for entry in db.session.scalars(select(GlossaryEntry))]
        if has_request_context():
            g.kb_glossary_groups = groups
    return groups


def index_reader(user) -> search.Reader:
    """The reader as the index's access fields see them (the same rule as access.py)."""
    if access.has_role(user, Role.EDITOR):
        return search.Reader(user_id=user.id, sees_everything=True)
    if access.is_signed_in(user):
        return search.Reader(user_id=user.id)
    return search.Reader()


def _index_path() -> str:
    return current_app.config["SEARCH_INDEX_PATH"]


def _load(ids: list[int]) -> dict[int, Resource]:
    if not ids:
        return {}
    rows = db.session.scalars(select(Resource).where(Resource.id.in_(ids)).options(
        selectinload(Resource.files), selectinload(Resource.kind),
        selectinload(Resource.objectives), selectinload(Resource.language_rows),
        selectinload(Resource.organisation), selectinload(Resource.tags)))
    return {r.id: r for r in rows}


def snippet_text(resource: Resource) -> str:
    return indexing.shown_text(resource)


def _snippet(resource: Resource, outcome: search.SearchOutcome) -> Markup:
    """The result's snippet, marked where the index says its matches are; found by analysing
    its text only when the resource changed since it was indexed (the index's offsets are
    then for another text)."""
    text = snippet_text(resource)
    found = outcome.highlights.get(resource.id)
    if found is not None and found.version == indexing.version_of(resource):
        return search.snippet_at(text, list(found.spans))
    return search.snippet(text, outcome.terms)


def run(user, params: SearchParams) -> SearchPage:
    """One page of results for `user`, with facets and snippets."""
    try:
        parsed = search.parse(params.q, glossary_groups(), search.frequencies(_index_path()))
    except search.QueryError as error:
        raise ValidationError(_l("The search is too long: at most %(n)d characters.",
                                 n=error.limit), field="q") from None
    reader = index_reader(user)
    filters = search.Filters(params.filters, params.year_from, params.year_to)
    options = dict(sort=params.sort, page=params.page, per_page=params.per_page,
                   time_limit=current_app.config.get("SEARCH_TIME_LIMIT", 5.0))
    outcome = search.search(_index_path(), parsed, reader, filters, **options)
    matched_all = True
    if outcome.total == 0 and parsed.match_all and len(parsed.clauses) > 1:
        # Nothing has every word: show what has some of them, and say so.
        parsed = parsed.with_any_words()
        outcome = search.search(_index_path(), parsed, reader, filters, **options)
        matched_all = False
    resources = _load([rid for rid, _score in outcome.hits])
    items = []
    for rid, score in outcome.hits:
        resource = resources.get(rid)
        if resource is None or not access.can_view_resource(user, resource):
            continue  # deleted or hidden since it was indexed
        items.append(ResultItem(resource, score, _snippet(resource, outcome)))
    suggestion = None
    if outcome.total < 3 and parsed.english_words:
        suggestion = _visible_suggestion(params, parsed, reader, filters)
    return SearchPage(params, outcome.total, items, _labelled(outcome.facets), suggestion,
                      matched_all, outcome.timed_out)


def _visible_suggestion(params: SearchParams, parsed, reader: search.Reader,
                        filters: search.Filters) -> str | None:
    """A corrected query, offered only if searching for it with the reader's own access (and
    filters) finds something: a suggestion must never reveal a word of a hidden resource."""
    corrected = search.suggest_spelling(_index_path(), parsed.english_words, reader)
    if not corrected:
        return None
    suggestion = _replace_words(params.q, parsed.english_words, corrected.split())
    try:
        again = search.parse(suggestion, glossary_groups(), search.frequencies(_index_path()))
    except search.QueryError:
        return None
    if again.match_all and len(again.clauses) > 1:
        again = again.with_any_words()
    found = search.search(_index_path(), again, reader, filters, per_page=1, with_facets=False,
                          with_highlights=False,
                          time_limit=current_app.config.get("SEARCH_TIME_LIMIT", 5.0))
    return suggestion if found.total else None


def _replace_words(q: str, old: list[str], new: list[str]) -> str:
    out = q
    for before, after in zip(old, new):
        if before != after:
            out = out.replace(before, after, 1)
    return out


def _labelled(facets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Facet values as the API names them: organisations by their short name and tags by their
    name as written (the index keeps both lowercased)."""
    out = dict(facets)
    if facets.get("org"):
        names = {o.short_name.lower(): o.short_name for o in db.session.scalars(
            select(Organisation).where(func.lower(Organisation.short_name).in_(facets["org"])))}
        out["org"] = {names.get(k, k): v for k, v in facets["org"].items()}
    if facets.get("tag"):
        wanted = list(facets["tag"])[:200]
        names = {t.name.lower(): t.name for t in db.session.scalars(
            select(Tag).where(func.lower(Tag.name).in_(wanted)))}
        out["tag"] = {names.get(k, k): v for k, v in list(facets["tag"].items())[:200]}
    return out


def facet_labels(locale: str) -> dict[str, dict[str, str]]:
    """Display names of facet values in the reader's language."""
    labels = {
        "kind": {k.code: k.name(locale) for k in db.session.scalars(select(ResourceKind))},
        "objective": {str(o.number): o.short(locale) for o in db.session.scalars(
            select(Objective))},
        "language": {"en": "English", "km": "ខ្មែរ"},
        "province": {p.code: p.name(locale) for p in db.session.scalars(select(Province))},
    }
    return labels


def more_like_this(user, resource: Resource, limit: int = 5) -> list[Resource]:
    text = f"{resource.title}\n{resource.alt_title}\n{snippet_text(resource)}"
    ids = search.more_like_this(_index_path(), resource.id, text, index_reader(user), limit)
    loaded = _load(ids)
    return [loaded[i] for i in ids if i in loaded and access.can_view_resource(user, loaded[i])]


def suggestions(user, prefix: str, limit: int = 8) -> list[dict]:
    """Completions for what is being typed: titles the user may see, tags, glossary terms."""
    prefix = " ".join((prefix or "").split())[:100]
    if len(prefix) < 2:
        return []
    # contains(autoescape=True): what the reader typed is matched as written. In a LIKE pattern
    # "%" and "_" are wildcards on both databases, and a backslash is an escape on PostgreSQL
    # only, so "100%" matched "1000" and "a\b" matched differently on each.
    typed = prefix.lower()
    out: list[dict] = []
    titles = db.session.scalars(
        select(Resource).where(access.visible_resources_clause(user),
                               func.lower(Resource.title).contains(typed, autoescape=True))
        .order_by(Resource.title, Resource.id).limit(limit))
    out += [{"text": r.title, "type": "title", "id": r.id} for r in titles]
    # Tags are shown only when a resource the user may see carries them.
    from kb.models import resource_tags

    tags = db.session.scalars(
        select(Tag.name).join(resource_tags, resource_tags.c.tag_id == Tag.id)
        .join(Resource, Resource.id == resource_tags.c.resource_id)
        .where(access.visible_resources_clause(user),
               func.lower(Tag.name).contains(typed, autoescape=True))
        .group_by(Tag.name).order_by(Tag.name).limit(limit))
    out += [{"text": name, "type": "tag"} for name in tags]
    for entry in glossary.entries():  # in a fixed order, so the same terms come first
        for expression in entry.expressions():
            if typed in expression.lower():
                out.append({"text": expression, "type": "glossary"})
                break
    return out[:limit * 2]
