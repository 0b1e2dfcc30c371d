"""The group's calendar: working-group meetings and expert presentations, the trainers'
workshops and the consultations' deadlines, on one page by month and as an iCalendar feed.

Every event comes through the access rules of what it shows (a members-only meeting, a private
workshop, a members-only consultation are left out for those who may not see them). Calendar
apps send no cookies or headers, so a member's feed link carries a personal key: a signed
(user, version) pair; making a new link raises the version and the old link stops working.
"""
from __future__ import annotations

import calendar as calendar_module
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.ingest.sanitize import plain_text, render_summary
from kb.models import (CalendarFeed, Consultation, Meeting, MeetingKind, Resource, User,
                       Visibility, Workshop)
from kb.services import access, audit, clock
from kb.services.consultations import (MAX_DB_INT, clean_text, one_line, parse_day, parse_id,
                                       parse_organisations, parse_visibility)
from kb.services.errors import NotFound, PermissionDenied, ValidationError
from kb.services.workshops import parse_start_time

MEETING_FIELDS = ("kind", "title", "title_km", "date", "start_time", "end_time", "location",
                  "agenda", "visibility", "organisations", "minutes_resource_id")
FEED_SALT = "kb-calendar-feed"
FEED_PAST_DAYS, FEED_FUTURE_DAYS = 366, 2 * 366


@dataclass
class Event:
    """One entry of the calendar, whatever it comes from."""

    kind: str  # meeting, presentation, workshop, deadline
    uid: str
    title: str
    title_km: str
    day: date
    start: time | None = None
    end: time | None = None
    location: str = ""
    description: str = ""
    endpoint: str = ""
    params: dict = field(default_factory=dict)

    def title_in(self, locale: str | None) -> str:
        if str(locale or "").startswith("km") and self.title_km:
            return self.title_km
        return self.title


# --- meetings -----------------------------------------------------------------------------------

def _require_manager(user: User | None) -> None:
    if not access.can_manage_calendar(user):
        raise PermissionDenied(_l("Only editors can change the calendar."))


def _time(value, field_name: str) -> str:
    try:
        return parse_start_time(value)
    except ValidationError as error:
        raise ValidationError(error.message, field=field_name) from None


def describe_meeting(meeting: Meeting, data: dict, actor: User) -> None:
    if "kind" in data:
        try:
            meeting.kind = MeetingKind(str(data["kind"] or "meeting"))
        except ValueError:
            raise ValidationError(_l("A meeting or an expert presentation."),
                                  field="kind") from None
    if "title" in data:
        meeting.title = one_line(data["title"], 300)
        if not meeting.title:
            raise ValidationError(_l("Enter a title."), field="title")
    if "title_km" in data:
        meeting.title_km = one_line(data["title_km"], 300)
    if "date" in data:
        meeting.date = parse_day(data["date"], "date")
    if "start_time" in data:
        meeting.start_time = _time(data["start_time"], "start_time")
    if "end_time" in data:
        meeting.end_time = _time(data["end_time"], "end_time")
    if meeting.start_time and meeting.end_time and meeting.end_time <= meeting.start_time:
        raise ValidationError(_l("The meeting must end after it starts."), field="end_time")
    if meeting.end_time and not meeting.start_time:
        raise ValidationError(_l("Give the start time too."), field="start_time")
    if "location" in data:
        meeting.location = one_line(data["location"], 300)
    if "agenda" in data:
        meeting.agenda = clean_text(data["agenda"])
    if "visibility" in data:
        meeting.visibility = parse_visibility(data["visibility"])
    if "organisations" in data:
        meeting.organisations = parse_organisations(data["organisations"])
    if "minutes_resource_id" in data:
        number = parse_id(data["minutes_resource_id"], "minutes_resource_id")
        minutes = db.session.get(Resource, number) if number else None
        if number and (minutes is None or not access.can_view_resource(actor, minutes)):
            raise ValidationError(_l("No such resource."), field="minutes_resource_id")
        if minutes is not None and minutes.kind.code != "meeting_record":
            raise ValidationError(_l("The minutes are a resource of the kind meeting record."),
                                  field="minutes_resource_id")
        meeting.minutes = minutes


def create_meeting(actor: User, data: dict) -> Meeting:
    """Raises PermissionDenied, ValidationError."""
    _require_manager(actor)
    meeting = Meeting(created_by=actor, visibility=Visibility.MEMBERS, kind=MeetingKind.MEETING)
    describe_meeting(meeting, {"title": None, "date": None,
                               **{k: v for k, v in data.items() if k in MEETING_FIELDS}}, actor)
    db.session.add(meeting)
    audit.record(actor, "meeting.create", meeting)
    db.session.commit()
    return meeting


def update_meeting(actor: User, meeting: Meeting, data: dict) -> Meeting:
    _require_manager(actor)
    changed = sorted(k for k in data if k in MEETING_FIELDS)
    describe_meeting(meeting, {k: data[k] for k in changed}, actor)
    audit.record(actor, "meeting.update", meeting, fields=changed)
    db.session.commit()
    return meeting


def delete_meeting(actor: User, meeting: Meeting) -> None:
    """The meeting leaves the calendar; its minutes stay in the knowledge base."""
    _require_manager(actor)
    audit.record(actor, "meeting.delete", meeting, title=meeting.title,
                 date=meeting.date.isoformat())
    db.session.delete(meeting)
    db.session.commit()


def get_meeting(user: User | None, meeting_id) -> Meeting:
    valid = isinstance(meeting_id, int) and 1 <= meeting_id <= MAX_DB_INT
    meeting = db.session.get(Meeting, meeting_id) if valid else None
    if meeting is None or not access.can_view_meeting(user, meeting):
        raise NotFound(_l("No such meeting."))
    return meeting


def agenda_html(meeting: Meeting) -> str:
    return render_summary(meeting.agenda)


# --- the events of a period ---------------------------------------------------------------------

def _clock(value: str) -> time | None:
    return time.fromisoformat(value) if value else None


def events_between(user: User | None, start: date, end: date) -> list[Event]:
    """Every event from `start` up to (not including) `end` that `user` may see, by day."""
    events = []
    meetings = db.session.scalars(select(Meeting).where(
        Meeting.date >= start, Meeting.date < end, access.visible_meetings_clause(user)))
    for meeting in meetings:
        events.append(Event(
            kind=meeting.kind.value, uid=f"meeting-{meeting.id}", title=meeting.title,
            title_km=meeting.title_km, day=meeting.date, start=_clock(meeting.start_time),
            end=_clock(meeting.end_time), location=meeting.location,
            description=plain_text(agenda_html(meeting)),
            endpoint="calendar.meeting", params={"meeting_id": meeting.id}))
    workshops = db.session.scalars(select(Workshop).where(
        Workshop.date.is_not(None), Workshop.date >= start, Workshop.date < end,
        access.visible_workshops_clause(user)))
    for workshop in workshops:
        events.append(Event(
            kind="workshop", uid=f"workshop-{workshop.id}", title=workshop.title,
            title_km=workshop.title if workshop.language == "km" else "", day=workshop.date,
            location=workshop.location, description=workshop.audience,
            endpoint="workshops.detail", params={"workshop_id": workshop.id}))
    deadlines = db.session.scalars(select(Consultation).where(
        Consultation.closes >= start, Consultation.closes < end,
        access.visible_consultations_clause(user)))
    for consultation in deadlines:
        events.append(Event(
            kind="deadline", uid=f"consultation-{consultation.id}-deadline",
            title=str(_l("Deadline: %(title)s", title=consultation.title)),
            title_km=str(_l("Deadline: %(title)s", title=consultation.title_km))
            if consultation.title_km else "", day=consultation.closes,
            endpoint="consultations.detail", params={"consultation_id": consultation.id}))
    events.sort(key=lambda e: (e.day, e.start or time.min, e.kind, e.uid))
    return events


def parse_month(value) -> tuple[int, int]:
    """"YYYY-MM" (this month when empty). Raises ValidationError."""
    if not value:
        today = clock.local_today()
        return today.year, today.month
    try:
        year, month = (int(part) for part in str(value).split("-"))
        date(year, month, 1)
    except ValueError:
        raise ValidationError(_l("Write the month as YYYY-MM."), field="month") from None
    if not 2000 <= year <= 2100:
        raise ValidationError(_l("Choose a month between 2000 and 2100."), field="month")
    return year, month


@dataclass
class Month:
    year: int
    month: int
    weeks: list[list[date]]
    events: dict[date, list[Event]]
    previous: str
    next: str

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)


def month(user: User | None, year: int, month_number: int) -> Month:
    """The month's weeks (Monday first) and what happens on each day."""
    weeks = calendar_module.Calendar(firstweekday=0).monthdatescalendar(year, month_number)
    events: dict[date, list[Event]] = {}
    for event in events_between(user, weeks[0][0], weeks[-1][-1] + timedelta(days=1)):
        events.setdefault(event.day, []).append(event)
    first = date(year, month_number, 1)
    before = first - timedelta(days=1)
    after = first + timedelta(days=32)
    return Month(year, month_number, weeks, events, f"{before.year:04d}-{before.month:02d}",
                 f"{after.year:04d}-{after.month:02d}")


# --- the iCalendar feed -------------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=FEED_SALT)


def feed_token(user: User, renew: bool = False) -> str:
    """The member's personal feed key; `renew` makes a new one (the old one stops working)."""
    if not access.is_signed_in(user):
        raise PermissionDenied(_l("Sign in to get your calendar link."))
    feed = db.session.get(CalendarFeed, user.id)
    if feed is None:
        feed = CalendarFeed(user_id=user.id, version=1)
        db.session.add(feed)
        try:
            db.session.commit()
        except IntegrityError:  # made at the same moment in another request
            db.session.rollback()
            feed = db.session.get(CalendarFeed, user.id)
    if renew:
        feed.version += 1
        audit.record(user, "calendar.new_feed_link", user)
        db.session.commit()
    return _serializer().dumps([user.id, feed.version])


def user_for_feed_token(token: str) -> User | None:
    """The active member a feed key belongs to, or None for a wrong, old or foreign key."""
    try:
        user_id, version = _serializer().loads(token or "")
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or not isinstance(version, int) \
            or not 1 <= user_id <= MAX_DB_INT:
        return None
    feed = db.session.get(CalendarFeed, user_id)
    user = db.session.get(User, user_id)
    if feed is None or feed.version != version or user is None or not user.is_active:
        return None
    return user


def feed_events(user: User | None) -> list[Event]:
    today = clock.local_today()
    return events_between(user, today - timedelta(days=FEED_PAST_DAYS),
                          today + timedelta(days=FEED_FUTURE_DAYS))


def ics(events: list[Event], lang: str, url_for_event) -> bytes:
    """The events as an iCalendar (RFC 5545) document; `url_for_event(event)` gives each link."""
    import icalendar

    zone = clock.timezone()
    cal = icalendar.Calendar()
    cal.add("prodid", "-//DDWG//Knowledge base calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", str(_l("DDWG calendar")))
    cal.add("x-wr-timezone", str(zone))
    stamp = datetime.now(zone)
    for event in events:
        entry = icalendar.Event()
        entry.add("uid", f"{event.uid}@ddwg-kb")
        entry.add("dtstamp", stamp)
        entry.add("summary", event.title_in(lang))
        if event.start is not None:
            begins = datetime.combine(event.day, event.start, tzinfo=zone)
            entry.add("dtstart", begins)
            entry.add("dtend", datetime.combine(event.day, event.end, tzinfo=zone)
                      if event.end else begins + timedelta(hours=2))
        else:  # a whole day
            entry.add("dtstart", event.day)
            entry.add("dtend", event.day + timedelta(days=1))
        if event.location:
            entry.add("location", event.location)
        if event.description:
            entry.add("description", event.description)
        entry.add("categories", [event.kind])
        entry.add("url", url_for_event(event))
        cal.add_component(entry)
    cal.add_missing_timezones()
    return cal.to_ical()
