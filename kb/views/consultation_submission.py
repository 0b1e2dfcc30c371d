"""The editor's end of a consultation: compiling and exporting the submission, storing it as a
resource, and the record of what happened after it was sent."""
from __future__ import annotations

import io

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from kb.services import consultations as consultation_service
from kb.services import submission as submission_service
from kb.services.errors import DomainError
from kb.views.consultations import bp
from kb.views.helpers import viewer


def _page(consultation, lang: str, errors: dict | None = None, status: int = 200,
          cover_note: str | None = None):
    compiled = submission_service.compile_submission(viewer(), consultation, lang)
    return render_template("consultations/submission.html", consultation=consultation,
                           compiled=compiled, lang=compiled.lang, errors=errors or {},
                           cover_note=consultation.cover_note if cover_note is None
                           else cover_note), status


@bp.route("/<int:consultation_id>/submission", methods=["GET", "POST"])
@login_required
def submission(consultation_id: int):
    """A preview of the compiled document, with the cover note to write and the exports."""
    consultation = consultation_service.get_managed_consultation(viewer(), consultation_id)
    lang = submission_service.parse_language(request.values.get("lang") or "en")
    if request.method == "POST":
        note = request.form.get("cover_note", "")
        try:
            consultation_service.set_cover_note(viewer(), consultation, note)
        except DomainError as error:
            return _page(consultation, lang, {error.field or "": error.message}, error.status,
                         note)
        flash(_("The cover note was saved."), "success")
        return redirect(url_for("consultations.submission", consultation_id=consultation.id,
                                lang=lang))
    return _page(consultation, lang)


@bp.get("/<int:consultation_id>/submission.<fmt>")
@login_required
def submission_file(consultation_id: int, fmt: str):
    consultation = consultation_service.get_managed_consultation(viewer(), consultation_id)
    return send_submission(viewer(), consultation, fmt, request.args.get("lang") or "en")


def send_submission(user, consultation, fmt: str, lang: str):
    """The compiled document as a download, for the page and the API alike."""
    data, name, mimetype = submission_service.export(user, consultation, fmt, lang)
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                         download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<int:consultation_id>/submission/store")
@login_required
def store_submission(consultation_id: int):
    consultation = consultation_service.get_managed_consultation(viewer(), consultation_id)
    resource = submission_service.store_submission(viewer(), consultation,
                                                   request.form.get("lang") or "en")
    flash(_("The submission is stored as a new resource and waits for review."), "success")
    return redirect(url_for("main.resource_detail", resource_id=resource.id))


@bp.route("/<int:consultation_id>/follow-up", methods=["GET", "POST"])
@login_required
def follow_up(consultation_id: int):
    consultation = consultation_service.get_managed_consultation(viewer(), consultation_id)
    form = {"sent_to": consultation.sent_to,
            "sent_on": consultation.sent_on.isoformat() if consultation.sent_on else "",
            "follow_up": consultation.follow_up,
            "government_response_id": consultation.government_response_id or ""}
    errors = {}
    if request.method == "POST":
        form = {name: request.form.get(name, "") for name in form}
        try:
            consultation_service.record_follow_up(viewer(), consultation, form)
        except DomainError as error:
            errors = {error.field or "": error.message}
            return render_template("consultations/follow_up.html", consultation=consultation,
                                   form=form, errors=errors), error.status
        flash(_("Saved."), "success")
        return redirect(url_for("consultations.detail", consultation_id=consultation.id,
                                _anchor="follow-up"))
    return render_template("consultations/follow_up.html", consultation=consultation,
                           form=form, errors=errors)
