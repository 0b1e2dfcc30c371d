"""Reading resource metadata from a submitted form or JSON body, the same way for page and API."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from kb.services.ingestion import Upload

SCALAR_FIELDS = ("title", "alt_title", "kind", "summary", "tags", "org", "date", "visibility",
                 "commune_code", "event", "source_url", "authors")
LIST_FIELDS = ("objectives", "language")


def metadata_from_form(form: MultiDict, partial: bool = False) -> dict:
    """Only the fields present (for PATCH); with partial=False lists default to empty."""
    data = {name: form.get(name) for name in SCALAR_FIELDS if name in form}
    for name in LIST_FIELDS:
        values = [v for v in form.getlist(name) if v != ""]
        if name in form or not partial:
            data[name] = values
    return data


def uploads_from(files) -> list[Upload]:
    """The file parts of a form (a MultiDict, by the name "file") or a list of them."""
    parts = files.getlist("file") if isinstance(files, MultiDict) else list(files)
    return [Upload(f.filename or "", f.stream) for f in parts if f and f.filename]
