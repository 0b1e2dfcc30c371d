"""Serving stored files, their thumbnails and their extracted text to people.

Files are always sent as attachments with nosniff and a sandboxing CSP, so nothing uploaded is
ever rendered as a page of our origin. They are streamed from the file store a chunk at a time
(a folder or S3 alike), with their sha256 as ETag (304 for If-None-Match) and byte ranges (a
range is read from the store as a range, not skipped to).
"""
from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Blueprint, current_app, render_template, request

from kb.ingest.storage import CHUNK, BlobStream
from kb.models import ResourceFile
from kb.services import filestore, ingestion
from kb.services import resources as resource_service
from kb.views.helpers import viewer

bp = Blueprint("files", __name__)
FILE_CONTENT_TYPES = ingestion.accepted_content_types()


class _Body:
    """The response body: the stream read a chunk at a time, and closed when the server is done
    with it (also when the client went away, or for HEAD)."""

    def __init__(self, stream: BlobStream):
        self.stream = stream

    def __iter__(self):
        remaining = self.stream.length
        while remaining > 0:
            chunk = self.stream.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.stream.close()


def _conditional(etag: str, mimetype: str, size: int | None):
    """A response carrying `etag`, made conditional on the request: 304 when the client has it
    (412 when If-Match fails), 206 for a satisfiable byte range when the size is known (416 for
    an unsatisfiable one). Only a 200 or a 206 gets a body."""
    response = current_app.response_class(mimetype=mimetype, direct_passthrough=True)
    response.set_etag(etag)
    if size is not None:
        response.content_length = size
    response.make_conditional(request, accept_ranges=size is not None, complete_length=size)
    return response


def _attachment_names(name: str) -> dict:
    """filename, and filename* (RFC 5987) for a name beyond ASCII, so Khmer names arrive
    intact (as Werkzeug's send_file writes them)."""
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return {"filename": simple, "filename*": f"UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"}
    return {"filename": name}


def send_stored_file(stored: ResourceFile):
    response = _conditional(stored.sha256, stored.content_type, stored.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers.set("Content-Disposition", "attachment",
                         **_attachment_names(stored.original_name))
    if response.status_code not in (200, 206):
        return response
    start, length = 0, stored.size
    if response.status_code == 206:
        start, length = response.content_range.start, response.content_range.stop - \
            response.content_range.start
    stream = filestore.open_file(stored, start, length)
    response.content_length = stream.length
    response.response = _Body(stream)
    return response


@bp.get("/files/<int:file_id>/download")
def download(file_id: int):
    return send_stored_file(resource_service.get_file(viewer(), file_id))


@bp.get("/files/<int:file_id>/thumbnail.png")
def thumbnail(file_id: int):
    stored = resource_service.get_file(viewer(), file_id)
    response = _conditional(f"{stored.sha256}.png", "image/png", None)
    response.headers["Cache-Control"] = "private, max-age=3600"
    if response.status_code != 200:
        return response
    stream = filestore.open_thumbnail(stored)
    response.content_length = stream.length
    response.response = _Body(stream)
    return response


@bp.get("/files/<int:file_id>/text")
def text(file_id: int):
    stored = resource_service.get_file(viewer(), file_id)
    return render_template("file_text.html", file=stored, resource=stored.resource)
