"""Trainers' workshop packs: building an agenda, sharing it, printing it, taking it offline."""
from __future__ import annotations

from flask import (Blueprint, flash, g, has_request_context, jsonify, redirect, render_template,
                   request, send_file, url_for)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import login_required

from kb.i18n import current_language
from kb.models import Workshop
from kb.services import access, vocabularies
from kb.services import workshop_export
from kb.services import workshops as workshop_service
from kb.services.errors import Conflict, DomainError, PermissionDenied, ValidationError
from kb.views.helpers import safe_next, viewer

bp = Blueprint("workshops", __name__, url_prefix="/workshops")


@bp.app_template_global()
def workshop_choices() -> list[Workshop]:
    """The signed-in trainer's own workshops, for the "add to workshop" controls."""
    if not has_request_context():
        return []
    if "workshop_choices" not in g:
        g.workshop_choices = workshop_service.own_workshops(viewer())
    return g.workshop_choices


@bp.app_template_global()
def is_trainer() -> bool:
    return has_request_context() and access.can_build_workshops(viewer())


def details_from(form) -> dict:
    return {name: form.get(name, "") for name in workshop_service.WORKSHOP_FIELDS
            if name in form}


def details_of(workshop: Workshop) -> dict:
    """A workshop's details as the form shows them."""
    return {"title": workshop.title, "date": workshop.date.isoformat() if workshop.date else "",
            "location": workshop.location, "commune_code": workshop.commune_code or "",
            "audience": workshop.audience, "description": workshop.description,
            "language": workshop.language, "visibility": workshop.visibility.value}


def _form_page(workshop: Workshop | None, form, errors: dict, status: int = 200):
    return render_template("workshops/form.html", workshop=workshop, form=form, errors=errors,
                           provinces=vocabularies.provinces()), status


def _back_to(workshop: Workshop, item_id: int | None = None):
    anchor = f"item-{item_id}" if item_id else None
    return redirect(url_for("workshops.detail", workshop_id=workshop.id, _anchor=anchor))


def send_pack(reader, workshop: Workshop):
    """The offline ZIP of a workshop, with what `reader` may see."""
    bundle, name = workshop_export.export_workshop(
        reader, workshop,
        resource_url=lambda r: url_for("main.resource_detail", resource_id=r.id, _external=True))
    response = send_file(bundle, mimetype="application/zip", as_attachment=True,
                         download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- lists and pages ----------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    user = viewer()
    return render_template("workshops/index.html", mine=workshop_service.own_workshops(user),
                           others=workshop_service.other_workshops(user),
                           can_build=access.can_build_workshops(user))


@bp.get("/<int:workshop_id>")
def detail(workshop_id: int):
    return _detail_page(workshop_service.get_workshop(viewer(), workshop_id))


@bp.get("/shared/<token>")
def shared(token: str):
    return _detail_page(workshop_service.get_shared_workshop(token), token=token)


def _detail_page(workshop: Workshop, token: str | None = None):
    user = viewer()
    pack = workshop_export.plan_pack(user, workshop)
    return render_template(
        "workshops/detail.html", workshop=workshop, pack=pack,
        sessions=workshop_export.group_sessions(pack), token=token,
        editable=token is None and access.can_edit_workshop(user, workshop),
        can_copy=access.can_build_workshops(user) and access.can_view_workshop(user, workshop),
        description_html=workshop_service.rendered(workshop.description))


@bp.get("/<int:workshop_id>/print")
def print_view(workshop_id: int):
    return _print_page(workshop_service.get_workshop(viewer(), workshop_id))


@bp.get("/shared/<token>/print")
def shared_print_view(token: str):
    return _print_page(workshop_service.get_shared_workshop(token), token=token)


def _print_page(workshop: Workshop, token: str | None = None):
    """A handout for participants, in the workshop's language."""
    pack = workshop_export.plan_pack(viewer(), workshop)
    back = url_for("workshops.shared", token=token) if token else \
        url_for("workshops.detail", workshop_id=workshop.id)
    with force_locale(workshop.language):
        return render_template("workshops/print.html", workshop=workshop, pack=pack,
                               sessions=workshop_export.group_sessions(pack),
                               lang=workshop.language, back_url=back,
                               description_html=workshop_service.rendered(workshop.description))


@bp.get("/<int:workshop_id>/export")
def export(workshop_id: int):
    return send_pack(viewer(), workshop_service.get_workshop(viewer(), workshop_id))


@bp.get("/shared/<token>/export")
def shared_export(token: str):
    return send_pack(viewer(), workshop_service.get_shared_workshop(token))


# --- making and changing workshops ---------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    user = viewer()
    if not access.can_build_workshops(user):
        raise PermissionDenied(_("Only contributors can make workshops. Ask an administrator "
                                 "for the contributor role."))
    if request.method == "GET":
        defaults = {"language": request.args.get("language") or current_language(),
                    "add_resource": request.args.get("add_resource", "")}
        return _form_page(None, defaults, {})
    try:
        workshop = workshop_service.create_workshop(user, details_from(request.form))
    except DomainError as error:
        return _form_page(None, request.form, {error.field or "": error.message}, error.status)
    flash(_("The workshop was created. Add resources from search results or resource pages."),
          "success")
    if request.form.get("add_resource"):
        _add_and_report(workshop, request.form["add_resource"])
    return _back_to(workshop)


@bp.route("/<int:workshop_id>/edit", methods=["GET", "POST"])
@login_required
def edit(workshop_id: int):
    workshop = workshop_service.get_editable_workshop(viewer(), workshop_id)
    if request.method == "GET":
        return _form_page(workshop, details_of(workshop), {})
    try:
        workshop_service.update_workshop(viewer(), workshop, details_from(request.form))
    except DomainError as error:
        return _form_page(workshop, request.form, {error.field or "": error.message},
                          error.status)
    flash(_("The workshop was saved."), "success")
    return _back_to(workshop)


@bp.post("/<int:workshop_id>/delete")
@login_required
def delete(workshop_id: int):
    workshop = workshop_service.get_workshop(viewer(), workshop_id)
    workshop_service.delete_workshop(viewer(), workshop)
    flash(_("The workshop was deleted."), "info")
    return redirect(url_for("workshops.index"))


@bp.post("/<int:workshop_id>/duplicate")
@login_required
def duplicate(workshop_id: int):
    source = workshop_service.get_workshop(viewer(), workshop_id)
    copy = workshop_service.duplicate_workshop(viewer(), source)
    flash(_("This is your own private copy. Change its date and details, then share it."),
          "success")
    return _back_to(copy)


@bp.post("/<int:workshop_id>/share")
@login_required
def share(workshop_id: int):
    workshop = workshop_service.get_workshop(viewer(), workshop_id)
    if request.form.get("action") == "revoke":
        workshop_service.revoke_share_link(viewer(), workshop)
        flash(_("The link no longer works."), "info")
    else:
        workshop_service.create_share_link(viewer(), workshop)
        flash(_("Anyone with this link can now see the workshop."), "success")
    return redirect(url_for("workshops.detail", workshop_id=workshop.id, _anchor="sharing"))


# --- the agenda ---------------------------------------------------------------------------------

def _add_and_report(workshop: Workshop, resource_id) -> None:
    try:
        workshop_service.add_item(viewer(), workshop, resource_id)
    except (ValidationError, Conflict) as error:
        flash(str(error.message), "error")
    else:
        flash(_("Added to “%(title)s”.", title=workshop.title), "success")


@bp.post("/add")
@login_required
def add_resource():
    """The "add to workshop" form on resource pages and search results; returns to that page."""
    workshop = workshop_service.get_workshop(viewer(), request.form.get("workshop_id", type=int))
    _add_and_report(workshop, request.form.get("resource_id"))
    return redirect(safe_next())


@bp.post("/<int:workshop_id>/items/<int:item_id>")
@login_required
def update_item(workshop_id: int, item_id: int):
    workshop = workshop_service.get_workshop(viewer(), workshop_id)
    try:
        workshop_service.update_item(viewer(), workshop, item_id, request.form.to_dict())
    except ValidationError as error:
        flash(str(error.message), "error")
    else:
        flash(_("Saved."), "success")
    return _back_to(workshop, item_id)


@bp.post("/<int:workshop_id>/items/<int:item_id>/remove")
@login_required
def remove_item(workshop_id: int, item_id: int):
    workshop = workshop_service.get_workshop(viewer(), workshop_id)
    workshop_service.remove_item(viewer(), workshop, item_id)
    flash(_("The resource was taken out of the workshop."), "info")
    return _back_to(workshop)


@bp.post("/<int:workshop_id>/items/<int:item_id>/move")
@login_required
def move_item(workshop_id: int, item_id: int):
    """Move up / Move down without JavaScript (the script does the same with one request)."""
    workshop = workshop_service.get_workshop(viewer(), workshop_id)
    steps = -1 if request.form.get("direction") == "up" else 1
    workshop_service.move_item(viewer(), workshop, item_id, steps)
    return _back_to(workshop, item_id)


@bp.post("/<int:workshop_id>/order")
def reorder(workshop_id: int):
    """The whole new order at once, sent by workshop.js after a drag or a keyboard move.

    No sign-in redirect here: a script asking with an expired session gets a JSON error
    (which it reports), not the sign-in page with a 200 that would look like success."""
    workshop = workshop_service.get_workshop(viewer(), workshop_id)
    workshop_service.reorder(viewer(), workshop, request.form.getlist("item_ids"))
    return jsonify({"item_ids": [item.id for item in
                                 workshop_service.visible_items(viewer(), workshop)]})
