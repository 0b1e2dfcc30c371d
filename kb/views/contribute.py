"""Contributors: adding resources with their files."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from kb.extensions import db
from kb.models import Commune, Tag
from kb.services import access, ingestion, vocabularies
from kb.services.errors import DomainError, PermissionDenied
from kb.views.forms import metadata_from_form, uploads_from
from kb.views.helpers import viewer

bp = Blueprint("contribute", __name__)


def _form_context(form, errors):
    communes = db.session.scalars(select(Commune).order_by(Commune.code)).all()
    return {
        "form": form, "errors": errors,
        "kinds": vocabularies.kinds(), "objectives": vocabularies.objectives(),
        "organisations": vocabularies.organisations(), "provinces": vocabularies.provinces(),
        "communes": communes,
        "tag_names": db.session.scalars(select(Tag.name).order_by(Tag.name).limit(500)).all(),
        "can_publish": access.has_role(viewer(), access.Role.EDITOR),
    }


@bp.route("/contribute", methods=["GET", "POST"])
@login_required
def new_resource():
    user = viewer()
    if not access.can_contribute(user):
        raise PermissionDenied(_("Only contributors can add resources. Ask an administrator "
                                 "for the contributor role."))
    if request.method == "GET":
        return render_template("contribute.html", **_form_context(MultiDict(), {}))
    uploads = uploads_from(request.files)
    if not uploads:
        errors, status = {"file": _("Choose at least one file.")}, 400
    else:
        action = request.form.get("action")
        try:
            resource = ingestion.contribute(user, metadata_from_form(request.form), uploads,
                                            submit=action == "submit",
                                            publish=action == "publish")
        except DomainError as error:
            errors, status = {error.field or "": error.message}, error.status
        else:
            flash(_("Your resource was saved. Its files are being read; the page shows when "
                    "their text is ready."), "success")
            return redirect(url_for("main.resource_detail", resource_id=resource.id))
    return render_template("contribute.html", **_form_context(request.form, errors)), status
