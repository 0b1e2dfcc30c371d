"""Review before publication: the editors' queue, the workflow buttons of a resource page, the
metadata edit page, new versions of files, and each user's notifications."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from kb.extensions import db
from kb.models import Commune, Resource, Status, Tag
from kb.services import access, filestore, notifications, suggestions, vocabularies, workflow
from kb.services import resources as resource_service
from kb.services.errors import Conflict, DomainError, PermissionDenied, ValidationError
from kb.views.forms import metadata_from_form, uploads_from
from kb.views.helpers import safe_next, viewer

bp = Blueprint("review", __name__)

EXCERPT_CHARS = 600

EVENT_LABELS = {
    "created": _l("Created"), "edited": _l("Details changed"),
    "submitted": _l("Sent for review"), "approved": _l("Approved and published"),
    "rejected": _l("Returned for changes"), "published": _l("Published"),
    "archived": _l("Unpublished (archived)"), "restored": _l("Restored"),
    "new_version": _l("New version of a file"),
}

FIELD_LABELS = {
    "title": _l("Title"), "alt_title": _l("Title in the other language"),
    "kind": _l("Kind of resource"), "summary": _l("Summary"), "objectives": _l("Objectives"),
    "language": _l("Language"), "tags": _l("Tags"), "org": _l("Organisation"),
    "date": _l("Date"), "visibility": _l("Visibility"), "commune_code": _l("Place"),
    "event": _l("Event"), "source_url": _l("Source"), "authors": _l("Authors or presenters"),
}


def _resource(resource_id: int) -> Resource:
    return resource_service.get_resource(viewer(), resource_id)


def _back(resource: Resource | None = None):
    """Where the form came from (a safe `next`), else the resource page."""
    if request.values.get("next"):
        return redirect(safe_next())
    if resource is not None and access.can_view_resource(viewer(), resource):
        return redirect(url_for("main.resource_detail", resource_id=resource.id))
    return redirect(url_for("main.index"))


# --- what templates need ----------------------------------------------------------------------

@bp.app_template_global()
def resource_workflow(resource: Resource) -> dict:
    """What the viewer may do with a resource and may know of its history."""
    user = viewer()
    editor = access.can_review(user)
    status = resource.status
    show_history = access.can_see_history(user, resource)
    return {
        "can_submit": access.can_submit(user, resource),
        "can_review": editor and status == Status.SUBMITTED,
        "can_publish": editor and status in (Status.DRAFT, Status.REJECTED),
        "can_unpublish": editor and status == Status.PUBLISHED,
        "can_restore": editor and status == Status.ARCHIVED,
        "can_edit": access.can_edit_resource(user, resource),
        "can_upload_version": access.can_upload_version(user, resource),
        "history": workflow.history(user, resource),
        "show_history": show_history,
        "decision": workflow.latest_decision(resource) if show_history else None,
        "submitted_at": workflow.submitted_at(resource),
    }


@bp.app_template_global()
def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


@bp.app_template_global()
def label_status(value: str) -> str:
    from kb.i18n import label

    try:
        return label(Status(value))
    except ValueError:
        return value


@bp.app_template_global()
def changed_fields(comment: str) -> str:
    """An "edited" event's comment lists field names: in the reader's words."""
    names = [n.strip() for n in (comment or "").split(",") if n.strip()]
    return ", ".join(str(FIELD_LABELS.get(n, n)) for n in names)


@bp.app_template_global()
def file_versions(resource: Resource, stored) -> list:
    return workflow.file_versions(resource, stored)


@bp.app_context_processor
def header_counts():
    """Unread notifications for everyone signed in; the queue's length for editors."""
    user = viewer()
    counts = {"unread_notifications": 0, "review_queue_size": 0}
    if not access.is_signed_in(user):
        return counts
    try:
        counts["unread_notifications"] = notifications.unread_count(user)
        if access.can_review(user):
            counts["review_queue_size"] = workflow.queue_size()
    except Exception:  # an error page must still render when the database is unwell
        db.session.rollback()
    return counts


# --- the review queue -------------------------------------------------------------------------

@bp.get("/review")
@login_required
def queue():
    if not access.can_review(viewer()):
        raise PermissionDenied(_("Only editors can review resources."))
    items = []
    for resource in workflow.review_queue():
        files = []
        for stored in resource.current_files:
            text = " ".join((stored.text or "").split())
            files.append({
                "file": stored,
                "thumbnail": filestore.has_thumbnail(stored),
                "excerpt": text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else ""),
            })
        items.append({"resource": resource, "files": files,
                      "submitted_at": workflow.submitted_at(resource)})
    return render_template("review/queue.html", items=items)


# --- moving a resource through the workflow ---------------------------------------------------

def _act(resource_id: int, action):
    """Run one workflow step; refusals of the input come back as a message on the page."""
    resource = _resource(resource_id)
    try:
        message = action(resource)
    except (ValidationError, Conflict) as error:  # bad input, or a step its state forbids
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        flash(message, "success")
    return _back(resource)


@bp.post("/resources/<int:resource_id>/submit")
@login_required
def submit(resource_id: int):
    def step(resource):
        workflow.submit(viewer(), resource)
        return _("Sent for review. You will be told when an editor has decided.")
    return _act(resource_id, step)


@bp.post("/resources/<int:resource_id>/review")
@login_required
def decide(resource_id: int):
    decision = request.form.get("decision", "")
    comment = request.form.get("comment", "")

    def step(resource):
        if decision == "reject" and not comment.strip():
            raise ValidationError(_("Say what should change before returning a resource."),
                                  field="comment")
        workflow.review(viewer(), resource, decision, comment)
        if decision == "approve":
            return _("“%(title)s” is approved and published.", title=resource.title)
        return _("“%(title)s” was returned to its contributor for changes.",
                 title=resource.title)
    return _act(resource_id, step)


@bp.post("/resources/<int:resource_id>/publish")
@login_required
def publish(resource_id: int):
    def step(resource):
        workflow.publish(viewer(), resource, request.form.get("comment", ""))
        return _("Published.")
    return _act(resource_id, step)


@bp.post("/resources/<int:resource_id>/unpublish")
@login_required
def unpublish(resource_id: int):
    def step(resource):
        workflow.unpublish(viewer(), resource, request.form.get("comment", ""))
        return _("Unpublished: the resource is archived and readers no longer see it.")
    return _act(resource_id, step)


@bp.post("/resources/<int:resource_id>/restore")
@login_required
def restore(resource_id: int):
    def step(resource):
        workflow.restore(viewer(), resource, request.form.get("comment", ""))
        return _("Restored: the resource is published again.")
    return _act(resource_id, step)


# --- editing metadata -------------------------------------------------------------------------

def resource_form(resource: Resource) -> MultiDict:
    """The resource's metadata as the edit form sends it."""
    form = MultiDict({
        "title": resource.title, "alt_title": resource.alt_title or "",
        "kind": resource.kind.code if resource.kind else "",
        "summary": resource.summary_source or "",
        "authors": "; ".join(a.name for a in resource.authors),
        "event": resource.event or "", "source_url": resource.source_url or "",
        "tags": ", ".join(t.name for t in resource.tags),
        "org": resource.organisation.short_name if resource.organisation else "",
        "date": resource.date.isoformat() if resource.date else "",
        "visibility": resource.visibility.value, "commune_code": resource.commune_code or "",
    })
    for objective in resource.objectives:
        form.add("objectives", str(objective.number))
    for code in resource.languages:
        form.add("language", code)
    return form


def _changed(before: dict, after: dict) -> dict:
    """Only the fields whose value differs, so the history says what was changed."""
    def same(a, b):
        if isinstance(a, list) or isinstance(b, list):
            return sorted(a or []) == sorted(b or [])
        return (a or "").strip() == (b or "").strip()
    return {k: v for k, v in after.items() if not same(before.get(k), v)}


def _edit_context(resource: Resource, form, errors: dict) -> dict:
    return {
        "resource": resource, "form": form, "errors": errors,
        "kinds": vocabularies.kinds(), "objectives": vocabularies.objectives(),
        "organisations": vocabularies.organisations(), "provinces": vocabularies.provinces(),
        "communes": db.session.scalars(select(Commune).order_by(Commune.code)).all(),
        "tag_names": db.session.scalars(select(Tag.name).order_by(Tag.name).limit(500)).all(),
        "workflow": resource_workflow(resource),
    }


@bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@login_required
def edit(resource_id: int):
    user = viewer()
    resource = _resource(resource_id)
    if not access.can_edit_resource(user, resource):
        raise PermissionDenied(_("You may not edit this resource."))
    if request.method == "GET":
        return render_template("review/edit.html", **_edit_context(
            resource, resource_form(resource), {}))
    before = metadata_from_form(resource_form(resource))
    changes = _changed(before, metadata_from_form(request.form))
    try:
        if changes:
            resource_service.update_resource(user, resource, changes)
        if request.form.get("action") == "submit":
            workflow.submit(user, resource)
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, PermissionDenied):
            raise
        return render_template("review/edit.html", **_edit_context(
            resource, request.form, {error.field or "": error.message})), error.status
    if request.form.get("action") == "submit":
        flash(_("Saved and sent for review."), "success")
    elif changes:
        flash(_("Your changes were saved."), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("main.resource_detail", resource_id=resource.id))


@bp.post("/resources/<int:resource_id>/suggestions")
@login_required
def take_suggestions(resource_id: int):
    """Take the authors or date a file's properties offer (shown on the resource page)."""
    def step(resource):
        suggestions.accept(viewer(), resource, request.form.getlist("take"))
        return _("Taken from the file.")
    return _act(resource_id, step)


# --- new versions of files --------------------------------------------------------------------

@bp.post("/files/<int:file_id>/versions")
@login_required
def new_version(file_id: int):
    user = viewer()
    stored = resource_service.get_file(user, file_id)
    resource = stored.resource
    if not access.can_upload_version(user, resource):
        raise PermissionDenied(_("Only the owner or an editor can upload a new version."))
    uploads = uploads_from(request.files)
    if len(uploads) != 1:
        flash(_("Choose one file as the new version."), "error")
        return _back(resource)
    try:
        newer = workflow.new_version(user, stored, uploads[0], request.form.get("note", ""))
    except DomainError as error:
        if isinstance(error, PermissionDenied):
            raise
        flash(str(error.message), "error")
    else:
        flash(_("Version %(n)d of %(name)s was uploaded; earlier versions stay available.",
                n=newer.version, name=newer.original_name), "success")
    return _back(resource)


# --- notifications ----------------------------------------------------------------------------

@bp.get("/notifications")
@login_required
def notification_list():
    user = viewer()
    rows = notifications.for_user(user)
    items = [{"row": n, "text": notifications.text(n), "comment": notifications.comment(n),
              "unread": n.read_at is None} for n in rows]
    notifications.mark_all_read(user)
    return render_template("notifications.html", items=items)
