"""Small helpers shared by the page views."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for
from flask_login import current_user


def safe_next(default_endpoint: str = "main.index") -> str:
    """The `next` target if it stays on this site, else the default page (no open redirects)."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc \
            and "\\" not in target:
        return target
    return url_for(default_endpoint)


def viewer():
    """The signed-in user (the real object, not Flask-Login's proxy) or the anonymous visitor."""
    return current_user._get_current_object()


def thumbnail_url(resource) -> str | None:
    """The first-page preview of a resource's first file that has one, for lists and pages."""
    from flask import url_for

    from kb.services import filestore

    for stored in resource.current_files:
        if filestore.has_thumbnail(stored):
            return url_for("files.thumbnail", file_id=stored.id)
    return None


def file_format(stored) -> str:
    """A file's format as its usual extension in capitals (PDF, DOCX, ...), for file-type cards."""
    from kb.ingest.sniff import EXTENSIONS

    return EXTENSIONS.get(stored.content_type, "").lstrip(".").upper() or "FILE"
