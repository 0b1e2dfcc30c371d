"""The one HTML sanitising policy. bleach stays behind this module so it can be swapped here."""
from __future__ import annotations

import html as html_lib

import bleach
import bleach.callbacks
import bleach.linkifier
import markdown

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "i", "li", "ol",
    "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "abbr": ["title"], "td": ["colspan", "rowspan"],
                      "th": ["colspan", "rowspan", "scope"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

_cleaner = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                          protocols=ALLOWED_PROTOCOLS, strip=True, strip_comments=True,
                          filters=[])
_linkify = bleach.linkifier.Linker(callbacks=[bleach.callbacks.nofollow])


def sanitize_html(html: str) -> str:
    """Keep a small set of formatting tags; drop scripts, styles, event handlers, bad URLs."""
    cleaned = _cleaner.clean(html or "")
    return _linkify.linkify(cleaned)


def render_summary(source: str) -> str:
    """A summary typed as Markdown or HTML, rendered and sanitised for display."""
    # Markdown passes inline HTML through untouched, so both inputs end up in the sanitiser.
    html = markdown.markdown(source or "", extensions=["sane_lists"], output_format="html")
    return sanitize_html(html)


def plain_text(html: str) -> str:
    """Text without any markup, for search and for places where HTML is not wanted."""
    return html_lib.unescape(bleach.clean(html or "", tags=set(), strip=True))
