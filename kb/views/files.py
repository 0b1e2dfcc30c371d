"""Serving stored files, their thumbnails and their extracted text to people.

Files are always sent as attachments with nosniff and a sandboxing CSP, so nothing uploaded is
ever rendered as a page of our origin.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, send_file

from kb.ingest.storage import blob_path
from kb.models import ResourceFile
from kb.services import ingestion, processing
from kb.services import resources as resource_service
from kb.views.helpers import viewer

bp = Blueprint("files", __name__)
FILE_CONTENT_TYPES = ingestion.accepted_content_types()


def send_stored_file(stored: ResourceFile):
    response = send_file(
        blob_path(current_app.config["FILE_STORE_PATH"], stored.sha256),
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.original_name,  # Werkzeug adds filename* (RFC 5987) for Khmer
        etag=stored.sha256,
        conditional=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/files/<int:file_id>/download")
def download(file_id: int):
    return send_stored_file(resource_service.get_file(viewer(), file_id))


@bp.get("/files/<int:file_id>/thumbnail.png")
def thumbnail(file_id: int):
    stored = resource_service.get_file(viewer(), file_id)
    path = processing.thumbnail_path(stored.sha256)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype="image/png", max_age=3600, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/files/<int:file_id>/text")
def text(file_id: int):
    stored = resource_service.get_file(viewer(), file_id)
    return render_template("file_text.html", file=stored, resource=stored.resource)
