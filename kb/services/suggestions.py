"""Authors and a date offered from a file's own properties, for the contributor to confirm.

Files say who made them and when, but often wrongly: the program that wrote them ("python-docx"),
a shared computer's account ("Administrator"), a template's date. So these values are never
filled in silently; the resource page offers them to whoever may edit the resource, who takes
them or leaves them.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from kb.extensions import db
from kb.models import Resource, ResourceAuthor, User
from kb.services import access, audit, indexing, resources
from kb.services.errors import PermissionDenied, ValidationError

# Names that programs and shared computers put in a file's author field: never a person.
NOT_AUTHORS = frozenset({
    "python-docx", "python-pptx", "openpyxl", "administrator", "admin", "user", "owner",
    "microsoft office user", "microsoft office", "windows user", "unknown", "author", "default",
    "libreoffice", "openoffice", "pdflatex", "latex", "tex", "word", "ms word",
})


@dataclass
class Suggestions:
    authors: list[str]
    date: datetime.date | None

    def __bool__(self) -> bool:
        return bool(self.authors or self.date)


def _authors_of(value: str) -> list[str]:
    names = [n.strip() for n in value.replace(";", ",").split(",")] if value else []
    return [n[:200] for n in names if n and n.casefold() not in NOT_AUTHORS]


def for_resource(actor: User | None, resource: Resource) -> Suggestions:
    """What the files' properties offer for the fields the resource leaves empty (nothing for
    someone who may not edit it)."""
    if not access.can_edit_resource(actor, resource):
        return Suggestions([], None)
    authors, when = [], None
    for stored in resource.current_files:
        props = stored.properties or {}
        if not resource.authors and not authors:
            authors = _authors_of(str(props.get("author") or ""))
        if resource.date is None and when is None and props.get("date"):
            try:
                when = resources.parse_date(props["date"])
            except Exception:  # a malformed date in a file's properties is simply not offered
                when = None
    return Suggestions(authors, when)


def accept(actor: User, resource: Resource, fields: list[str]) -> list[str]:
    """Take the offered values of `fields` ("authors", "date"); returns those taken. Raises
    PermissionDenied, ValidationError (nothing chosen, or nothing on offer any more)."""
    if not access.can_edit_resource(actor, resource):
        raise PermissionDenied(_l("You may not edit this resource."))
    offered = for_resource(actor, resource)
    taken = []
    if "authors" in fields and offered.authors:
        resource.authors = [ResourceAuthor(position=i, name=name)
                            for i, name in enumerate(offered.authors)]
        taken.append("authors")
    if "date" in fields and offered.date is not None:
        resource.date = offered.date
        taken.append("date")
    if not taken:
        raise ValidationError(_l("Choose what to take from the file."), field="fields")
    indexing.mark(resource)
    audit.record(actor, "resource.update", resource, fields=taken)
    db.session.commit()
    return taken
