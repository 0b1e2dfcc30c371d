"""Serving stored files: always as attachments, never rendered in our origin."""
from __future__ import annotations

from flask import current_app, send_file

from kb.ingest.storage import blob_path
from kb.models import ResourceFile


def send_stored_file(stored: ResourceFile):
    response = send_file(
        blob_path(current_app.config["FILE_STORE_PATH"], stored.sha256),
        mimetype="application/octet-stream" if stored.content_type.startswith("text/html")
        else stored.content_type,
        as_attachment=True,
        download_name=stored.original_name,  # Werkzeug writes filename* (RFC 5987) for Khmer
        etag=stored.sha256,
        conditional=True,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
