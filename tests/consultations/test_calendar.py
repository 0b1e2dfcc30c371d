"""The group's calendar: meetings, workshops and consultation deadlines on the month page and in
the iCalendar feed (parsed with the icalendar library), each as its readers may see it."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest

from kb.services import calendar as calendar_service
from kb.services import clock, workshops
from kb.services.errors import PermissionDenied, ValidationError
from tests.conftest import csrf_token
from tests.consultations.conftest import SHORT_DRAFT, days, open_consultation, publish_draft
from tests.consultations.test_pages import as_role, client_for
from tests.factories import make_resource

ROLES = ("anonymous", "member", "editor")


@pytest.fixture
def events(people, draft):
    editor = people["editor"]
    when = clock.local_today() + timedelta(days=5)
    minutes = make_resource(editor, editor, title="Minutes of the October meeting",
                            kind="meeting_record")
    public_meeting = calendar_service.create_meeting(editor, {
        "title": "Monthly DDWG meeting", "title_km": "កិច្ចប្រជុំប្រចាំខែ", "date": when,
        "start_time": "08:30", "end_time": "11:00", "location": "CARD office",
        "agenda": "1. **Budget** review", "visibility": "public",
        "organisations": ["CARD", "COWS"], "minutes_resource_id": minutes.id})
    members_meeting = calendar_service.create_meeting(editor, {
        "kind": "presentation", "title": "Expert presentation on fiscal transfers",
        "date": when + timedelta(days=1), "visibility": "members"})
    trainer_workshop = workshops.create_workshop(people["card2"], {
        "title": "Commune budget training", "date": when.isoformat(), "visibility": "members"})
    public_consultation = open_consultation(editor, draft, closes=days(6))
    members_consultation = open_consultation(
        editor, publish_draft(editor, SHORT_DRAFT + "\nMembers.", visibility="members"),
        title="Members-only consultation", closes=days(7), visibility="members")
    return {"public_meeting": public_meeting, "members_meeting": members_meeting,
            "workshop": trainer_workshop, "public_consultation": public_consultation,
            "members_consultation": members_consultation, "when": when}


def parse_feed(response) -> dict[str, icalendar.Event]:
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


@pytest.mark.parametrize("language", ["en", "km"])
def test_the_month_page_as_each_role(app, people, events, language):
    month = events["when"].strftime("%Y-%m")
    sees = {"anonymous": {"Monthly DDWG meeting" if language == "en" else "កិច្ចប្រជុំប្រចាំខែ",
                          "Deadline: Commune planning sub-decree"},
            "member": {"Expert presentation on fiscal transfers", "Commune budget training",
                       "Members-only consultation"}}
    sees["editor"] = sees["member"]
    for role in ROLES:
        client = client_for(app, people, as_role(people, role), language)
        page = client.get(f"/calendar?month={month}")
        assert page.status_code == 200, role
        text = page.get_data(as_text=True)
        deadline_in_khmer = language == "km" and "អនុក្រឹត្យ" in text
        for title in sees["anonymous"]:
            assert title in text or deadline_in_khmer, (role, title)
        for title in sees["member"]:
            assert (title in text) == (role != "anonymous") or language == "km", (role, title)
        assert ("calendar.ics?token=" in text) == (role != "anonymous")
        assert client.get(f"/calendar/meetings/{events['public_meeting'].id}").status_code == 200
        assert client.get(f"/calendar/meetings/{events['members_meeting'].id}").status_code == \
            (404 if role == "anonymous" else 200)
        assert client.get("/calendar/meetings/new").status_code == \
            {"anonymous": 302, "member": 403, "editor": 200}[role]
        assert client.get(f"/calendar/meetings/{events['public_meeting'].id}/edit"
                          ).status_code == {"anonymous": 302, "member": 403, "editor": 200}[role]
    for bad in ("2025-13", "abc", "1800-01", "2025-1-1"):
        assert app.test_client().get(f"/calendar?month={bad}").status_code == 400


def test_the_meeting_page_shows_agenda_minutes_and_organisations(app, people, events):
    page = app.test_client().get(f"/calendar/meetings/{events['public_meeting'].id}")
    text = page.get_data(as_text=True)
    assert "<strong>Budget</strong>" in text and "CARD, COWS" in text
    assert "Minutes of the October meeting" in text and "08:30" in text


def test_the_public_feed_has_only_public_events(app, people, events):
    found = parse_feed(app.test_client().get("/calendar.ics"))
    meeting = found[f"meeting-{events['public_meeting'].id}@ddwg-kb"]
    assert str(meeting["summary"]) == "Monthly DDWG meeting"
    start = meeting.decoded("dtstart")
    assert start == datetime.combine(events["when"], time(8, 30), tzinfo=clock.timezone())
    assert meeting.decoded("dtend").time() == time(11, 0)
    assert str(meeting["location"]) == "CARD office"
    deadline = found[f"consultation-{events['public_consultation'].id}-deadline@ddwg-kb"]
    assert deadline.decoded("dtstart") == date.fromisoformat(days(6))  # a whole day
    assert f"meeting-{events['members_meeting'].id}@ddwg-kb" not in found
    assert f"workshop-{events['workshop'].id}@ddwg-kb" not in found
    assert f"consultation-{events['members_consultation'].id}-deadline@ddwg-kb" not in found
    khmer = parse_feed(app.test_client().get("/calendar.ics?lang=km"))
    assert str(khmer[f"meeting-{events['public_meeting'].id}@ddwg-kb"]["summary"]) == \
        "កិច្ចប្រជុំប្រចាំខែ"


def test_a_members_feed_link_shows_members_events_until_replaced(app, people, events):
    member = client_for(app, people, "card")
    page = member.get("/calendar").get_data(as_text=True)
    link = next(part for part in page.split('"') if "calendar.ics?token=" in part)
    token = parse_qs(urlsplit(link.replace("&amp;", "&")).query)["token"][0]
    phone = app.test_client()  # calendar apps send no cookie
    found = parse_feed(phone.get("/calendar.ics", query_string={"token": token}))
    assert f"meeting-{events['members_meeting'].id}@ddwg-kb" in found
    assert f"workshop-{events['workshop'].id}@ddwg-kb" in found
    assert f"consultation-{events['members_consultation'].id}-deadline@ddwg-kb" in found
    assert member.post("/calendar/feed-link", data={
        "csrf_token": csrf_token(member, "/calendar")}).status_code == 302
    assert phone.get("/calendar.ics", query_string={"token": token}).status_code == 404
    for wrong in ("x", token[:-2] + "aa", "W1sxXV0"):
        assert phone.get("/calendar.ics", query_string={"token": wrong}).status_code == 404
    assert phone.get("/calendar.ics", query_string={"token": "\x00"}).status_code == 400


def test_only_editors_keep_meetings_and_details_are_checked(people, events):
    with pytest.raises(PermissionDenied):
        calendar_service.create_meeting(people["card"], {"title": "x", "date": days(1)})
    for data, field in [({"title": "x"}, "date"), ({"title": "", "date": days(1)}, "title"),
                        ({"title": "x", "date": days(1), "start_time": "25:00"}, "start_time"),
                        ({"title": "x", "date": days(1), "start_time": "10:00",
                          "end_time": "09:00"}, "end_time"),
                        ({"title": "x", "date": days(1), "kind": "party"}, "kind"),
                        ({"title": "x", "date": days(1),
                          "minutes_resource_id": events["public_consultation"].resource_id},
                         "minutes_resource_id")]:
        with pytest.raises(ValidationError) as raised:
            calendar_service.create_meeting(people["editor"], data)
        assert raised.value.field == field, data


def test_the_meeting_form_keeps_what_was_typed(app, people):
    editor = client_for(app, people, "editor")
    token = csrf_token(editor, "/calendar/meetings/new")
    refused = editor.post("/calendar/meetings/new", data={
        "csrf_token": token, "title": "Monthly meeting", "date": "tomorrow",
        "agenda": "Long agenda typed carefully"})
    assert refused.status_code == 400
    assert "Long agenda typed carefully" in refused.get_data(as_text=True)
    created = editor.post("/calendar/meetings/new", data={
        "csrf_token": token, "title": "Monthly meeting", "date": days(3),
        "organisations": ["CARD"], "visibility": "public"})
    assert created.status_code == 302
    meeting_path = created.headers["Location"]
    assert editor.post(meeting_path + "/delete", data={"csrf_token": token}).status_code == 302
    assert editor.get(meeting_path).status_code == 404


def test_an_empty_month_says_so(app, people):
    for language, text in (("en", "Nothing is in the calendar this month."),
                           ("km", "មិនមានអ្វីនៅក្នុងប្រតិទិនសម្រាប់ខែនេះទេ។")):
        page = client_for(app, people, "anonymous", language).get("/calendar?month=2031-02")
        assert page.status_code == 200 and text in page.get_data(as_text=True)
