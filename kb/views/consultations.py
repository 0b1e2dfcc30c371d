"""Consultation pages: the list, the consultation with its draft section by section and the
responses, the editors' forms (details, division, moderation), and members' responses."""
from __future__ import annotations

from functools import partial

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from kb.models import Consultation, ConsultationState, MeetingKind, Participation
from kb.services import access, clock, vocabularies
from kb.services import consultations as consultation_service
from kb.services import responses as response_service
from kb.services.errors import DomainError, PermissionDenied, ValidationError
from kb.views.helpers import viewer

bp = Blueprint("consultations", __name__, url_prefix="/consultations")

STATE_LABELS = {
    ConsultationState.UPCOMING: _l("Upcoming"), ConsultationState.OPEN: _l("Open"),
    ConsultationState.CLOSED: _l("Closed"), ConsultationState.SUBMITTED: _l("Submitted"),
}
KIND_LABELS = {MeetingKind.MEETING: _l("Working-group meeting"),
               MeetingKind.PRESENTATION: _l("Expert presentation")}
RESPONSE_FIELDS = ("text", "proposed_wording", "section_id", "question_id", "on_behalf_of_org")


@bp.app_template_global()
def consultation_state(consultation: Consultation) -> str:
    return consultation_service.state(consultation).value


@bp.app_template_global()
def state_label(value) -> str:
    return str(STATE_LABELS.get(ConsultationState(value), value))


@bp.app_template_global()
def meeting_kind_label(value) -> str:
    return str(KIND_LABELS.get(MeetingKind(value), value))


@bp.app_template_global()
def consultations_about(resource) -> list[Consultation]:
    """For the resource page: consultations on this draft, or whose feedback it is."""
    return consultation_service.consultations_about(viewer(), resource)


@bp.app_template_global()
def can_manage_consultations() -> bool:
    return access.can_manage_consultations(viewer())


@bp.app_template_global()
def resource_visible(resource) -> bool:
    return resource is not None and access.can_view_resource(viewer(), resource)


def _consultation(consultation_id: int) -> Consultation:
    return consultation_service.get_consultation(viewer(), consultation_id)


def _details_form(form) -> dict:
    data = {name: form.get(name, "") for name in consultation_service.FIELDS if name in form}
    if "organisations" in form:
        data["organisations"] = form.getlist("organisations")
    if request.method == "POST":
        data["responses_shared"] = "responses_shared" in form
        if "participation" not in form:
            data["participation"] = Participation.MEMBERS.value
    if "questions" in form:
        data["questions"] = form.get("questions", "")
    return data


def _details_of(consultation: Consultation) -> dict:
    return {"title": consultation.title, "title_km": consultation.title_km,
            "opens": consultation.opens.isoformat(), "closes": consultation.closes.isoformat(),
            "visibility": consultation.visibility.value,
            "participation": consultation.participation.value,
            "organisations": [o.short_name for o in consultation.organisations],
            "responses_shared": consultation.responses_shared,
            "questions": "\n".join(q.text for q in consultation.questions)}


def _form_page(consultation, form: dict, errors: dict, status: int = 200, draft=None):
    return render_template("consultations/form.html", consultation=consultation, form=form,
                           errors=errors, draft=draft,
                           organisations=vocabularies.organisations()), status


# --- pages for every reader ---------------------------------------------------------------------

@bp.get("/")
def index():
    user = viewer()
    return render_template("consultations/index.html",
                           consultations=consultation_service.list_consultations(user),
                           can_manage=access.can_manage_consultations(user))


@bp.get("/responses")
def search_responses():
    """Members search the responses; visitors only those of public consultations."""
    from kb.services import response_search

    args = request.args
    try:
        page = int(args.get("page") or 1)
    except ValueError:
        page = 0  # refused below with the contract's message
    consultation_id = args.get("consultation") or None
    try:
        number = consultation_service.parse_id(consultation_id, "consultation")
        results = response_search.search_responses(viewer(), args.get("q", ""), number, page)
    except DomainError as error:
        return render_template("consultations/search.html", results=None, q=args.get("q", ""),
                               error=error.message), error.status
    return render_template("consultations/search.html", results=results, q=results.q,
                           error=None,
                           by_line=partial(response_service.by_line, reader=viewer()))


@bp.get("/<int:consultation_id>")
def detail(consultation_id: int):
    return _detail_page(_consultation(consultation_id))


def _detail_page(consultation: Consultation, errors: dict | None = None, form: dict | None = None,
                 status: int = 200):
    """The consultation page; after a refused response, again with the text the member typed."""
    user = viewer()
    today = clock.local_today()
    state = consultation.state_on(today)
    sections = consultation_service.visible_sections(user, consultation)
    targets = {"whole-all"} | {f"section-{s.id}" for s in sections} | \
        {f"question-{q.id}" for q in consultation.questions}
    if form and form.get("target") not in targets:  # a target not on the page: the general form
        form = {**form, "target": "whole-all"}
    return render_template(
        "consultations/detail.html", consultation=consultation, state=state,
        sections=sections,
        draft_readable=access.can_read_draft(user, consultation),
        threads=response_service.threads(user, consultation),
        organisations_count=consultation_service.organisations_taking_part(consultation),
        can_respond=access.can_respond(user, consultation, today),
        may_take_part=access.may_take_part(user, consultation),
        can_manage=access.can_manage_consultations(user),
        can_edit=lambda r: access.can_edit_response(user, r, today),
        can_endorse=lambda r: access.can_endorse(user, r, today),
        endorsed=lambda r: response_service.endorsed_by_me(user, r),
        by_line=partial(response_service.by_line, reader=user), errors=errors or {},
        form=form or {},
        user_org=user.organisation if access.is_signed_in(user) else None), status


# --- editors: opening and describing a consultation ----------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    user = viewer()
    if not access.can_manage_consultations(user):
        raise PermissionDenied(_("Only editors can manage consultations."))
    resource_id = request.values.get("resource_id", "")
    if request.method == "GET":
        form = {"resource_id": resource_id, "visibility": "members", "participation": "members",
                "responses_shared": True}
        return _form_page(None, form, {})
    form = _details_form(request.form)
    try:
        consultation = consultation_service.create_consultation(user, resource_id, form)
    except DomainError as error:
        return _form_page(None, {**form, "resource_id": resource_id},
                          {error.field or "": error.message}, error.status)
    flash(_("The consultation was opened. Check the division of the draft into sections."),
          "success")
    return redirect(url_for("consultations.detail", consultation_id=consultation.id))


@bp.route("/<int:consultation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(consultation_id: int):
    consultation = consultation_service.get_managed_consultation(viewer(), consultation_id)
    if request.method == "GET":
        return _form_page(consultation, _details_of(consultation), {})
    form = _details_form(request.form)
    try:
        consultation_service.update_consultation(viewer(), consultation, form)
    except DomainError as error:
        return _form_page(consultation, form, {error.field or "": error.message}, error.status)
    flash(_("Saved."), "success")
    return redirect(url_for("consultations.detail", consultation_id=consultation.id))


@bp.route("/<int:consultation_id>/divide", methods=["GET", "POST"])
@login_required
def divide(consultation_id: int):
    """The editor corrects the division of the draft, or divides its current text again."""
    consultation = consultation_service.get_managed_consultation(viewer(), consultation_id)
    division = consultation_service.division_of(consultation)
    if request.method == "POST":
        again = request.form.get("action") == "reread"
        division = request.form.get("division", "")
        try:
            consultation_service.redivide(viewer(), consultation, None if again else division)
        except DomainError as error:
            return render_template("consultations/divide.html", consultation=consultation,
                                   division=division, error=error.message), error.status
        flash(_("The draft now has %(n)d sections.", n=len(consultation.sections)), "success")
        return redirect(url_for("consultations.detail", consultation_id=consultation.id))
    return render_template("consultations/divide.html", consultation=consultation,
                           division=division, error=None)


# --- members: responding and endorsing ---------------------------------------------------------

def _anchor(response) -> str:
    return f"response-{response.id}"


@bp.post("/<int:consultation_id>/responses")
@login_required
def respond(consultation_id: int):
    consultation = _consultation(consultation_id)
    form = {name: request.form.get(name, "") for name in RESPONSE_FIELDS}
    form["on_behalf_of_org"] = "on_behalf_of_org" in request.form
    # Which of the page's forms was used, to open it again with the text after a refusal.
    form["target"] = (f"section-{form['section_id']}" if form["section_id"] else
                      f"question-{form['question_id']}" if form["question_id"] else "whole-all")
    try:
        response = response_service.respond(viewer(), consultation, form)
    except DomainError as error:
        # The page again, with what the member wrote, so nothing typed is lost.
        return _detail_page(consultation, {error.field or "": error.message}, form,
                            error.status)
    flash(_("Thank you: your response was saved."), "success")
    return redirect(url_for("consultations.detail", consultation_id=consultation.id,
                            _anchor=_anchor(response)))


@bp.route("/<int:consultation_id>/responses/<int:response_id>/edit", methods=["GET", "POST"])
@login_required
def edit_response(consultation_id: int, response_id: int):
    consultation = _consultation(consultation_id)
    response = response_service.get_response(viewer(), consultation, response_id)
    form = {"text": response.text, "proposed_wording": response.proposed_wording,
            "on_behalf_of_org": response.organisation_id is not None}
    error = None
    if request.method == "POST":
        form = {"text": request.form.get("text", ""),
                "proposed_wording": request.form.get("proposed_wording", ""),
                "on_behalf_of_org": "on_behalf_of_org" in request.form}
        try:
            response_service.update_response(viewer(), response, form)
        except DomainError as refused:
            error = refused
        else:
            flash(_("Your response was changed."), "success")
            return redirect(url_for("consultations.detail", consultation_id=consultation.id,
                                    _anchor=_anchor(response)))
    elif not access.is_response_author(viewer(), response):
        raise PermissionDenied(_("Only the author can change a response."))
    page = render_template("consultations/response_edit.html", consultation=consultation,
                           response=response, form=form,
                           errors={(error.field or ""): error.message} if error else {},
                           user_org=viewer().organisation)
    return page, (error.status if error else 200)


@bp.post("/<int:consultation_id>/responses/<int:response_id>/endorse")
@login_required
def endorse(consultation_id: int, response_id: int):
    consultation = _consultation(consultation_id)
    response = response_service.get_response(viewer(), consultation, response_id)
    if request.form.get("action") == "withdraw":
        response_service.withdraw_endorsement(viewer(), response)
        flash(_("Your organisation's endorsement was withdrawn."), "info")
    else:
        response_service.endorse(viewer(), response)
        flash(_("Your organisation now supports this response."), "success")
    return redirect(url_for("consultations.detail", consultation_id=consultation.id,
                            _anchor=_anchor(response)))


# --- editors: moderation -------------------------------------------------------------------------

@bp.post("/<int:consultation_id>/responses/<int:response_id>/moderate")
@login_required
def moderate(consultation_id: int, response_id: int):
    consultation = _consultation(consultation_id)
    response = response_service.get_response(viewer(), consultation, response_id)
    if request.form.get("action") == "show":
        response_service.unhide_response(viewer(), response)
        flash(_("The response is shown again."), "info")
    else:
        try:
            response_service.hide_response(viewer(), response, request.form.get("reason", ""))
        except ValidationError as error:
            flash(str(error.message), "error")
        else:
            flash(_("The response is hidden. Its author sees why."), "info")
    return redirect(url_for("consultations.detail", consultation_id=consultation.id,
                            _anchor=_anchor(response)))


from kb.views import consultation_submission  # noqa: E402,F401  (its routes join this blueprint)
