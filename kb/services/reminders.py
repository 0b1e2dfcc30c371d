"""Telling members when a consultation opens and three days before its deadline.

Both notices depend on the date, not on anyone's action, so something must look periodically:
`kb run` does it in a background thread every CONSULTATION_NOTICE_SECONDS (an hour by default),
and `kb notices` does it once (for cron, when the application is served another way). Several
processes may look at once: each notice is claimed with a conditional UPDATE (set the notice
time where it is still empty), and only the process whose UPDATE changed the row sends it.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from flask import has_request_context, url_for
from sqlalchemy import select, update

from kb.extensions import db
from kb.models import AccountStatus, Consultation, ConsultationState, Participation, User, utcnow
from kb.services import clock, notifications

log = logging.getLogger(__name__)

REMINDER_DAYS = 3


def consultation_path(consultation: Consultation) -> str:
    if has_request_context():
        return url_for("consultations.detail", consultation_id=consultation.id)
    return f"/consultations/{consultation.id}"


def participants(consultation: Consultation) -> list[User]:
    """Everyone the consultation invites: active members, or those of the organisations named."""
    query = select(User).where(User.status == AccountStatus.ACTIVE).order_by(User.id)
    if consultation.participation == Participation.ORGANISATIONS:
        query = query.where(User.organisation_id.in_([o.id for o in
                                                      consultation.organisations]))
    return list(db.session.scalars(query))


def _claim(consultation: Consultation, column) -> bool:
    """True for the one process that marks this notice as sent."""
    db.session.flush()
    result = db.session.execute(
        update(Consultation).where(Consultation.id == consultation.id, column.is_(None))
        .values({column.key: utcnow(), "updated_at": Consultation.updated_at})
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _tell_everyone(consultation: Consultation, kind: str) -> int:
    data = {"kind": kind, "consultation_id": consultation.id, "title": consultation.title,
            "title_km": consultation.title_km, "date": consultation.closes.isoformat()}
    people = participants(consultation)
    for user in people:
        notifications.notify_link(user, data, consultation_path(consultation))
    return len(people)


def announce_if_open(consultation: Consultation) -> int:
    """In the caller's transaction: the opening notice, if the consultation is open now and
    nobody has sent it. Returns how many people were told."""
    if consultation.state_on(clock.local_today()) != ConsultationState.OPEN:
        return 0
    if consultation.opening_notice_at is not None or not _claim(
            consultation, Consultation.opening_notice_at):
        return 0
    return _tell_everyone(consultation, "consultation_opened")


@dataclass
class NoticeCount:
    opened: int = 0
    reminded: int = 0


def send_due_notices() -> NoticeCount:
    """Every notice that is due now, each in its own transaction (e-mails go after each)."""
    today = clock.local_today()
    count = NoticeCount()
    due_open = select(Consultation.id).where(
        Consultation.opening_notice_at.is_(None), Consultation.sent_on.is_(None),
        Consultation.opens <= today, Consultation.closes >= today)
    for consultation_id in list(db.session.scalars(due_open)):
        consultation = db.session.get(Consultation, consultation_id)
        if announce_if_open(consultation):
            count.opened += 1
        db.session.commit()
    due_reminder = select(Consultation.id).where(
        Consultation.deadline_notice_at.is_(None), Consultation.sent_on.is_(None),
        Consultation.opens <= today, Consultation.closes >= today,
        Consultation.closes <= today + timedelta(days=REMINDER_DAYS))
    for consultation_id in list(db.session.scalars(due_reminder)):
        consultation = db.session.get(Consultation, consultation_id)
        if _claim(consultation, Consultation.deadline_notice_at):
            _tell_everyone(consultation, "consultation_deadline")
            count.reminded += 1
        db.session.commit()
    return count


def start_background(app, interval: float) -> threading.Thread | None:
    """Look for due notices every `interval` seconds in a daemon thread (for `kb run`)."""
    if not interval or interval <= 0:
        return None
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            with app.app_context():
                try:
                    send_due_notices()
                except Exception:  # logged; the next round tries again
                    log.exception("sending consultation notices failed")
                finally:
                    db.session.remove()
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="kb-consultation-notices", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
