"""The group's calendar: the month page, meetings (editors keep them), and the iCalendar feed."""
from __future__ import annotations

from flask import (Blueprint, Response, flash, redirect, render_template, request, url_for)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import login_required

from kb.models import Meeting
from kb.services import access, vocabularies
from kb.services import calendar as calendar_service
from kb.services.errors import DomainError, PermissionDenied
from kb.views.helpers import viewer

bp = Blueprint("calendar", __name__)


def event_url(event, external: bool = False) -> str:
    return url_for(event.endpoint, _external=external, **event.params)


@bp.get("/calendar")
def month_page():
    user = viewer()
    year, month = calendar_service.parse_month(request.args.get("month"))
    feed_url = None
    if access.is_signed_in(user):
        feed_url = url_for("calendar.feed", token=calendar_service.feed_token(user),
                           _external=True)
    return render_template("calendar/month.html", month=calendar_service.month(user, year, month),
                           event_url=event_url, feed_url=feed_url,
                           public_feed_url=url_for("calendar.feed", _external=True),
                           can_manage=access.can_manage_calendar(user))


@bp.post("/calendar/feed-link")
@login_required
def new_feed_link():
    """A new personal feed link; the old one stops working (for a lost or shared phone)."""
    calendar_service.feed_token(viewer(), renew=True)
    flash(_("Your calendar link was replaced. Add the new one to your phone."), "success")
    return redirect(url_for("calendar.month_page", _anchor="subscribe"))


@bp.get("/calendar.ics")
def feed():
    """Public events for everyone; with `?token=`, everything that member may see."""
    token = request.args.get("token")
    user = None
    if token:
        user = calendar_service.user_for_feed_token(token)
        if user is None:
            return Response(_("This calendar link does not work any more. Copy the new one "
                              "from the calendar page."), status=404, mimetype="text/plain")
    lang = request.args.get("lang") if request.args.get("lang") in ("en", "km") else "en"
    with force_locale(lang):
        body = calendar_service.ics(calendar_service.feed_events(user), lang,
                                    lambda e: event_url(e, external=True))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="ddwg-calendar.ics"'
    response.headers["Cache-Control"] = "private, max-age=300" if user else "public, max-age=300"
    return response


# --- meetings ----------------------------------------------------------------------------------

@bp.get("/calendar/meetings/<int:meeting_id>")
def meeting(meeting_id: int):
    meeting = calendar_service.get_meeting(viewer(), meeting_id)
    return render_template("calendar/meeting.html", meeting=meeting,
                           agenda_html=calendar_service.agenda_html(meeting),
                           can_manage=access.can_manage_calendar(viewer()))


def _form(form) -> dict:
    data = {name: form.get(name, "") for name in calendar_service.MEETING_FIELDS if name in form}
    data["organisations"] = form.getlist("organisations")
    return data


def _details_of(meeting: Meeting) -> dict:
    return {"kind": meeting.kind.value, "title": meeting.title, "title_km": meeting.title_km,
            "date": meeting.date.isoformat(), "start_time": meeting.start_time,
            "end_time": meeting.end_time, "location": meeting.location,
            "agenda": meeting.agenda, "visibility": meeting.visibility.value,
            "organisations": [o.short_name for o in meeting.organisations],
            "minutes_resource_id": meeting.minutes_resource_id or ""}


def _form_page(meeting, form, errors, status=200):
    return render_template("calendar/meeting_form.html", meeting=meeting, form=form,
                           errors=errors, organisations=vocabularies.organisations()), status


@bp.route("/calendar/meetings/new", methods=["GET", "POST"])
@login_required
def new_meeting():
    if not access.can_manage_calendar(viewer()):
        raise PermissionDenied(_("Only editors can change the calendar."))
    if request.method == "GET":
        return _form_page(None, {"kind": "meeting", "visibility": "members",
                                 "date": request.args.get("date", "")}, {})
    form = _form(request.form)
    try:
        created = calendar_service.create_meeting(viewer(), form)
    except DomainError as error:
        return _form_page(None, form, {error.field or "": error.message}, error.status)
    flash(_("The meeting is in the calendar."), "success")
    return redirect(url_for("calendar.meeting", meeting_id=created.id))


@bp.route("/calendar/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit_meeting(meeting_id: int):
    meeting = calendar_service.get_meeting(viewer(), meeting_id)
    if not access.can_manage_calendar(viewer()):
        raise PermissionDenied(_("Only editors can change the calendar."))
    if request.method == "GET":
        return _form_page(meeting, _details_of(meeting), {})
    form = _form(request.form)
    try:
        calendar_service.update_meeting(viewer(), meeting, form)
    except DomainError as error:
        return _form_page(meeting, form, {error.field or "": error.message}, error.status)
    flash(_("Saved."), "success")
    return redirect(url_for("calendar.meeting", meeting_id=meeting.id))


@bp.post("/calendar/meetings/<int:meeting_id>/delete")
@login_required
def delete_meeting(meeting_id: int):
    meeting = calendar_service.get_meeting(viewer(), meeting_id)
    calendar_service.delete_meeting(viewer(), meeting)
    flash(_("The meeting was taken out of the calendar."), "info")
    return redirect(url_for("calendar.month_page"))
