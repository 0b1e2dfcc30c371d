"""Notices: when a consultation opens and three days before its deadline, in the application
and by e-mail, sent once by `kb notices` (or `kb run`'s hourly check), in each reader's language."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from kb.extensions import db
from kb.models import Consultation, Notification
from kb.services import notifications, reminders
from tests.conftest import run_kb
from tests.consultations.conftest import days, open_consultation
from tests.consultations.test_pages import client_for
from tests.test_workflow import smtp_server  # noqa: F401  (the fixture)


def told(kind: str) -> list[int]:
    rows = db.session.scalars(select(Notification).order_by(Notification.id))
    return sorted(n.user_id for n in rows if notifications._payload(n)
                  and notifications._payload(n)["kind"] == kind)


def test_opening_and_deadline_notices_are_sent_once(app, people, draft, smtp_server,  # noqa: F811
                                                    instance):
    upcoming = open_consultation(people["editor"], draft, opens=days(1), closes=days(2),
                                 participation="organisations", organisations=["CARD"])
    assert told("consultation_opened") == [] and smtp_server.messages == []
    # The next day: it opens, and its deadline is within three days.
    db.session.execute(db.update(Consultation).where(Consultation.id == upcoming.id)
                       .values(opens=date.fromisoformat(days(0))))
    db.session.commit()
    count = reminders.send_due_notices()
    assert (count.opened, count.reminded) == (1, 1)
    invited = sorted([people["card"].id, people["card2"].id])
    assert told("consultation_opened") == invited and told("consultation_deadline") == invited
    recipients = sorted(r for _, rcpts, _ in smtp_server.messages for r in rcpts)
    assert recipients == sorted([people["card"].email, people["card2"].email] * 2)
    subjects = {m["Subject"] for _, _, m in smtp_server.messages}
    assert any(s.startswith("Three days left") for s in subjects)
    # Looked at again (another process, the next hour): nothing more.
    result = run_kb(instance, "notices")
    assert result.exit_code == 0 and "Opening notices: 0; deadline reminders: 0" in result.output
    assert len(told("consultation_opened")) == 2


def test_a_consultation_that_opens_today_is_announced_at_once(app, people, draft):
    consultation = open_consultation(people["editor"], draft)
    everyone = told("consultation_opened")
    assert people["loner"].id in everyone and people["card"].id in everyone
    assert reminders.send_due_notices().opened == 0
    for language, expected in (("en", "is open for responses until"),
                               ("km", "អនុក្រឹត្យស្ដីពីផែនការឃុំ")):
        page = client_for(app, people, "card", language).get("/notifications")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert expected in text and f"/consultations/{consultation.id}" in text


@pytest.mark.parametrize("interval", [0, -1])
def test_the_background_check_can_be_switched_off(app, interval):
    assert reminders.start_background(app, interval) is None


def test_the_background_check_sends_what_is_due(app, people, draft):
    import time

    open_consultation(people["editor"], draft, closes=days(1))
    thread = reminders.start_background(app, 3600)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not told("consultation_deadline"):
            time.sleep(0.1)
            db.session.expire_all()
    finally:
        thread.stop.set()
    assert people["card"].id in told("consultation_deadline")
