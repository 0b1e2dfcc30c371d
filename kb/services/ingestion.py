"""Taking files in: receiving, checking, storing once, and attaching them to resources."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm.attributes import set_committed_value

from kb.extensions import db
from kb.ingest import storage
from kb.models import ExtractionState, Resource, ResourceFile, User
from kb.services import (access, audit, filestore, indexing, jobs, processing, resources,
                         rows, workflow)
from kb.services.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError

MAX_FILES_PER_RESOURCE = 20


def accepted_content_types() -> tuple[str, ...]:
    """The types a stored file can have (decided from its bytes at upload)."""
    from kb.ingest.sniff import ALLOWED_TYPES

    return tuple(ALLOWED_TYPES)


class UploadTooLarge(DomainError):
    status = 413
    code = "too_large"


@dataclass
class Upload:
    """One file as the client sent it: a name (untrusted) and a readable stream."""

    filename: str
    stream: BinaryIO


@dataclass
class Checked:
    name: str
    received: storage.ReceivedFile
    content_type: str


def _receive(upload: Upload) -> Checked:
    """Stream one upload into a local temporary file and decide its type from its bytes."""
    from kb.ingest.sniff import FileTypeError, sniff_type

    name = storage.safe_filename(upload.filename)
    try:
        received = storage.receive(filestore.store(), upload.stream,
                                   current_app.config.get("MAX_FILE_SIZE"))
    except storage.TooLarge as too_large:
        raise UploadTooLarge(_l("%(name)s is larger than the limit of %(mb)d MB.", name=name,
                                mb=too_large.limit // (1024 * 1024)), field="file") from None
    if received.size == 0:
        received.discard()
        raise ValidationError(_l("%(name)s is empty.", name=name), field="file")
    try:
        content_type = sniff_type(received.path, name)
    except FileTypeError as error:
        received.discard()
        raise ValidationError(_file_type_message(name, error), field="file") from None
    return Checked(name, received, content_type)


def _file_type_message(name: str, error) -> str:
    """The sniffer's refusal in the reader's language."""
    if error.reason == "mismatch":
        return _l("%(name)s: its contents (%(found)s) do not match its extension "
                  "(%(extension)s).", name=name, found=error.found, extension=error.extension)
    if error.reason == "refused":
        return _l("%(name)s is not a type the knowledge base accepts (found: %(found)s). "
                  "Accepted: PDF, Word, PowerPoint, Excel, OpenDocument, RTF, text, Markdown, "
                  "HTML, JPEG, PNG and TIFF.", name=name, found=error.found)
    return _l("%(name)s is empty.", name=name)


def existing_copy(sha256: str) -> ResourceFile | None:
    return db.session.scalar(select(ResourceFile).where(ResourceFile.sha256 == sha256)
                             .order_by(ResourceFile.id).limit(1))


def _refuse_duplicates(actor: User, checked: list[Checked]) -> None:
    """The same bytes are kept once: say where they already are (if the user may see it)."""
    seen = set()
    for item in checked:
        if item.received.sha256 in seen:
            raise Conflict(_l("%(name)s was sent twice.", name=item.name), field="file")
        seen.add(item.received.sha256)
        conflict = stored_already(actor, item.name, item.received.sha256)
        if conflict is not None:
            raise conflict


def stored_already(actor: User, name: str, sha256: str) -> Conflict | None:
    """The Conflict to raise when these bytes are stored already (saying where, if the user may
    see it), else None."""
    copy = existing_copy(sha256)
    if copy is None:
        return None
    if access.can_view_resource(actor, copy.resource):
        return Conflict(_l('%(name)s is already in the knowledge base, in "%(title)s" '
                           "(resource %(id)d).", name=name, title=copy.resource.title,
                           id=copy.resource_id), field="file")
    return Conflict(_l("%(name)s is already in the knowledge base (in a resource that is "
                       "not yet published).", name=name), field="file")


def receive_file(upload: Upload) -> Checked:
    """Receive and check one upload's bytes (size, type) without the database, so bulk imports
    may receive files in other threads (within an application context). Raises DomainError;
    nothing is kept then. `refuse_duplicates` is the rest of the checking."""
    return _receive(upload)


def refuse_duplicates(actor: User, checked: list[Checked]) -> None:
    """Raises Conflict, discarding `checked`, when any of them is stored already."""
    try:
        _refuse_duplicates(actor, checked)
    except BaseException:
        for item in checked:
            item.received.discard()
        raise


def refused_by_database(actor: User, checked: list[Checked], error: BaseException) -> Conflict | None:
    """Call after rolling back: when `error` is the unique checksum refusing our rows (another
    upload stored the same bytes a moment ago, after our own check), the Conflict that a later
    upload of those bytes gets; else None."""
    if not rows.is_unique_violation(error):
        return None
    for item in checked:
        conflict = stored_already(actor, item.name, item.received.sha256)
        if conflict is not None:
            return conflict
    return None


def receive_uploads(actor: User, uploads: list[Upload]) -> list[Checked]:
    """Receive and check every upload; on any refusal nothing is kept. Raises DomainError."""
    if len(uploads) > MAX_FILES_PER_RESOURCE:
        raise ValidationError(_l("At most %(n)d files at once.", n=MAX_FILES_PER_RESOURCE),
                              field="file")
    checked: list[Checked] = []
    try:
        for upload in uploads:
            checked.append(_receive(upload))
        _refuse_duplicates(actor, checked)
    except BaseException:
        for item in checked:
            item.received.discard()
        raise
    return checked


def _attach(actor: User, resource: Resource, checked: list[Checked]) -> list[ResourceFile]:
    """Put the bytes in the store first, then record them: a crash in between leaves an
    unreferenced blob (harmless, reported by `kb check`), never a record without bytes.
    Bytes another row uses are never removed: a refused upload leaves the blob to its owner.
    Raises Unavailable (the store cannot be reached)."""
    first = len(resource.current_files)
    placed = list(enumerate(checked, start=first))
    files = []
    # Rows go in by checksum: two uploads sharing files wait for each other's rows in one order,
    # never in a circle. Each keeps the position of its upload.
    for position, item in sorted(placed, key=lambda placed_item: placed_item[1].received.sha256):
        filestore.keep(item.received)
        stored = ResourceFile(resource=resource, position=position,
                              original_name=item.name, size=item.received.size,
                              sha256=item.received.sha256, content_type=item.content_type,
                              extraction_state=ExtractionState.PENDING, uploaded_by_id=actor.id)
        db.session.add(stored)
        files.append(stored)
    indexing.mark(resource)
    return sorted(files, key=lambda stored: stored.position)


def title_from_name(name: str) -> str:
    stem = Path(name).stem if "." in name else name
    return " ".join(stem.replace("_", " ").replace("-", " ").split()) or name


def check_may_contribute(actor: User, publish: bool = False) -> None:
    """Raises PermissionDenied unless `actor` may add resources (and publish them)."""
    if not access.can_contribute(actor):
        raise PermissionDenied(_l("Only contributors can add resources."))
    if publish and not access.has_role(actor, access.Role.EDITOR):
        raise PermissionDenied(_l("Only editors can publish."))


def create_with_files(actor: User, data: dict, checked: list[Checked], submit: bool = False,
                      publish: bool = False,
                      read: Callable[[ResourceFile], object] | None = None) -> Resource:
    """A new resource for received files: its bytes moved to their final place, then its rows
    added to the session, not committed. `read(file)`, if given, is called for each new file
    before the rows are written (a bulk import records text read in process with it). On any
    exception the caller rolls the session back and discards `checked` (bytes already moved
    stay, unreferenced and harmless, see _attach). Raises ValidationError (the metadata) and
    PermissionDenied."""
    data = dict(data)
    guessed_title = not (data.get("title") or "").strip() and bool(checked)
    if guessed_title:
        data["title"] = title_from_name(checked[0].name)
    resource = resources.new_resource(actor, data)
    _known_empty(resource)
    resource.title_from_file = guessed_title
    files = _attach(actor, resource, checked)
    if read is not None:
        for stored in files:
            read(stored)
    jobs.queue_new(files)
    if publish:
        workflow.publish(actor, resource, commit=False)
    elif submit:
        workflow.submit(actor, resource, commit=False)
    return resource


def _known_empty(resource: Resource) -> None:
    """A resource inserted a moment ago has no files, authors or languages but those just given:
    say so, so that reading them (the position of its first file, filling metadata from the
    file's own properties) costs no query."""
    state = inspect(resource)
    for name in ("files", "authors", "language_rows"):
        if name not in state.dict:
            set_committed_value(resource, name, [])


def contribute(actor: User, data: dict, uploads: list[Upload], submit: bool = False,
               publish: bool = False, process: bool = True) -> Resource:
    """Create a resource with its files. Raises PermissionDenied, ValidationError, Conflict,
    UploadTooLarge. Extraction is scheduled after the commit (unless process=False, when the
    caller takes care of it); the call does not wait for it."""
    check_may_contribute(actor, publish)
    checked = receive_uploads(actor, uploads)
    try:
        resource = create_with_files(actor, data, checked, submit=submit, publish=publish)
        db.session.commit()
    except BaseException as error:
        db.session.rollback()
        for item in checked:
            item.received.discard()
        conflict = refused_by_database(actor, checked, error)
        if conflict is not None:
            raise conflict from None
        raise
    if process:
        processing.schedule([f.id for f in resource.current_files])
    return resource


def add_files(actor: User, resource: Resource, uploads: list[Upload]) -> list[ResourceFile]:
    """Attach more files to an existing resource the user may edit."""
    if not access.can_edit_resource(actor, resource):
        raise PermissionDenied(_l("You may not edit this resource."))
    checked = receive_uploads(actor, uploads)
    try:
        # The new files' positions follow the files there are now, whoever else adds some.
        if not rows.lock(Resource, resource.id):
            raise NotFound(_l("No such resource."))
        files = _attach(actor, resource, checked)
        jobs.queue_new(files)
        audit.record(actor, "resource.files", resource, added=[c.name for c in checked])
        db.session.commit()
    except BaseException as error:
        db.session.rollback()
        for item in checked:
            item.received.discard()
        conflict = refused_by_database(actor, checked, error)
        if conflict is not None:
            raise conflict from None
        raise
    processing.schedule([f.id for f in files])
    return files
