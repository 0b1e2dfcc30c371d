"""What every response says about itself: compression, caching, and what it varies with.

* Pages, feeds, JSON, CSS and scripts are compressed (Flask-Compress: zstd, Brotli or gzip, as
  the client accepts). Stored files are not: they are sent as the contributor gave them (often
  compressed already), with their own ETag and ranges. Compressing pages that carry a CSRF token
  does not expose it to BREACH-style guessing: the token in a page is signed afresh, and knowing
  its unsigned part is worth nothing without the secret key.
* A page for a signed-in reader is never stored by a browser or a proxy (`no-store`): it may show
  drafts, members-only resources or the reader's own account.
* Pages, feeds and JSON are written in the reader's language, chosen from the language cookie,
  the profile or Accept-Language: they say so in Vary, so a cache never serves one reader's
  language to another.
"""
from __future__ import annotations

from flask import request
from flask_compress import Compress
from flask_login import current_user

compress = Compress()

# Written per reader and per language.
_LOCALISED = frozenset({"text/html", "application/atom+xml", "application/json", "text/xml"})


def _add_vary(response, *names: str) -> None:
    present = {part.strip().lower() for part in response.headers.get("Vary", "").split(",")
               if part.strip()}
    missing = [name for name in names if name.lower() not in present]
    if missing:
        current = response.headers.get("Vary")
        response.headers["Vary"] = ", ".join(([current] if current else []) + missing)


def _is_stored_file(response) -> bool:
    """A download of a contributor's file (sent as an attachment, with its own validators)."""
    return response.headers.get("Content-Disposition", "").startswith("attachment")


def init_app(app) -> None:
    app.config.setdefault("COMPRESS_REGISTER", False)  # registered below, around stored files
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    compress.init_app(app)

    @app.after_request
    def describe_response(response):
        if request.endpoint != "static" and response.mimetype in _LOCALISED:
            _add_vary(response, "Accept-Language", "Cookie")
        if request.endpoint != "static" and current_user and current_user.is_authenticated \
                and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        if not _is_stored_file(response):
            response = compress.after_request(response)
        return response
