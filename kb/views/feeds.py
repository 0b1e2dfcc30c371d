"""Atom 1.0 feeds of new published public resources, one per search (RFC 4287).

Written with lxml rather than a feed library: the format is small, and this way every element,
namespace and date is exactly what the RFC asks for.
"""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

import re

from flask import Blueprint, Response, request, url_for
from flask_babel import gettext as _
from lxml import etree

from kb.i18n import current_language
from kb.models import Resource
from kb.services import feeds
from kb.services import search as search_service
from kb.views.xmlout import XML_LANG, add, serialise, utc_stamp

ATOM_NS = "http://www.w3.org/2005/Atom"

bp = Blueprint("feeds", __name__)


_KHMER = re.compile("[\u1780-\u17ff\u19e0-\u19ff]")
_LATIN = re.compile("[A-Za-z]")


def _add(parent, tag: str, text: str | None = None, **attributes):
    return add(parent, f"{{{ATOM_NS}}}{tag}", text, **attributes)


def _language_of(text: str) -> str | None:
    """"km" or "en" by the script most of the text's letters are in (None without letters)."""
    khmer, latin = len(_KHMER.findall(text)), len(_LATIN.findall(text))
    if not khmer and not latin:
        return None
    return "km" if khmer >= latin else "en"


def _mark_language(element, text: str, feed_language: str) -> None:
    """xml:lang on a title or summary written in another language than the feed's."""
    language = _language_of(text)
    if language and language != feed_language:
        element.set(XML_LANG, language)


def _with_query(base: str, args: list[tuple[str, str]]) -> str:
    return f"{base}?{urlencode(args)}" if args else base


def _title(params: search_service.SearchParams, locale: str) -> str:
    """The feed's title names the search it follows, in the reader's language."""
    labels = search_service.facet_labels(locale)
    described = [labels.get(name, {}).get(value, value) for name, value in params.active_filters()]
    if params.q:
        described.insert(0, f"“{params.q}”")
    title = _("New resources in the DDWG Knowledge Base")
    return f"{title}: {', '.join(described)}" if described else title


def _entry(feed, resource: Resource, locale: str) -> None:
    entry = _add(feed, "entry")
    url = url_for("main.resource_detail", resource_id=resource.id, _external=True)
    published = resource.published_at or resource.created_at
    _add(entry, "id", url)
    _mark_language(_add(entry, "title", resource.title), resource.title, locale)
    _add(entry, "link", rel="alternate", type="text/html", href=url)
    _add(entry, "published", utc_stamp(published))
    _add(entry, "updated", utc_stamp(max(resource.updated_at or published, published)))
    for author in resource.authors:
        _add(_add(entry, "author"), "name", author.name)
    if resource.summary_html:  # sanitised when saved; Atom carries it escaped, as type="html"
        summary = _add(entry, "summary", resource.summary_html, type="html")
        _mark_language(summary, resource.summary_source or resource.summary_html, locale)
    root = url_for("main.index", _external=True)
    _add(entry, "category", term=resource.kind.code, label=resource.kind.name(locale),
         scheme=f"{root}kinds/")
    for objective in resource.objectives:
        _add(entry, "category", term=str(objective.number), label=objective.short(locale),
             scheme=f"{root}objectives/")


@bp.get("/feeds/resources.atom")
def resources():
    """Raises ValidationError (400) for bad or unknown filter values."""
    params = feeds.feed_params(request.args)
    page = feeds.newest_public(params)
    locale = current_language()
    search_args = params.as_args(sort=None, per_page=None)
    own_args = search_args + ([("per_page", str(params.per_page))]
                              if request.args.get("per_page") else [])
    self_url = _with_query(url_for("feeds.resources", _external=True), own_args)
    resources_shown = [item.resource for item in page.items]

    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    feed.set(XML_LANG, locale)
    _add(feed, "id", self_url)
    _add(feed, "title", _title(params, locale))
    _add(feed, "subtitle", _("Published resources of the Decentralization and Deconcentration "
                             "Reform Working Group, newest first."))
    newest = max((r.updated_at or r.created_at for r in resources_shown), default=None)
    _add(feed, "updated", utc_stamp(newest or datetime.now(timezone.utc)))
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=_with_query(
        url_for("search.search_page", _external=True), search_args + [("sort", "newest")]))
    _add(_add(feed, "author"), "name", _("DDWG Knowledge Base"))
    _add(feed, "icon", url_for("static", filename="img/icon.svg", _external=True))
    for resource in resources_shown:
        _entry(feed, resource, locale)
    # Feed readers poll: validators let them ask "anything new?" and get 304 Not Modified.
    response = Response(serialise(feed), mimetype="application/atom+xml")
    if newest is not None:
        response.last_modified = newest.replace(tzinfo=timezone.utc)
    response.add_etag()
    return response.make_conditional(request)
