"""Administrators creating the same named thing at the same moment: one is saved, the others
see the form again with the error a later attempt gets, never a 500."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kb.extensions import db
from kb.models import GlossaryEntry, Organisation, User
from tests.concurrency.conftest import at_once, browser_session, form_token, sign_in, statuses

CLIENTS = 6

CASES = {
    "organisation": ("/admin/organisations/new",
                     {"short_name": "DDWG-Net", "name_en": "D&D network", "active": "1"},
                     "Another organisation has this short name.",
                     lambda: select(func.count()).select_from(Organisation)
                     .where(Organisation.short_name == "DDWG-Net")),
    "glossary term": ("/admin/glossary/new",
                      {"name_en": "participatory budgeting", "name_km": "ថវិកាចូលរួម"},
                      "The glossary already has this term.",
                      lambda: select(func.count()).select_from(GlossaryEntry)
                      .where(GlossaryEntry.name_en == "participatory budgeting")),
    "user": ("/admin/users/new",
             {"email": "trainer@example.org", "name": "New trainer", "role": "contributor",
              "password": "a long enough password"},
             "A user with this e-mail address already exists.",
             lambda: select(func.count()).select_from(User)
             .where(User.email == "trainer@example.org")),
}


@pytest.mark.parametrize("case", CASES)
def test_the_same_new_name_from_many_admins(app, server, make_user, case):
    path, form, refusal, count = CASES[case]
    emails = [make_user("admin").email for _ in range(CLIENTS)]
    sessions = [browser_session(server) for _ in range(CLIENTS)]
    for session, email in zip(sessions, emails):
        assert sign_in(session, server, email).status_code == 302
    tokens = [form_token(session, server + path) for session in sessions]
    answers = at_once(CLIENTS, lambda i: sessions[i].post(
        server + path, timeout=120, allow_redirects=False,
        data={**form, "csrf_token": tokens[i]}))
    counts = statuses(answers)
    figures = f"{CLIENTS} admins creating the same {case} at once: {dict(counts)}"
    assert counts == {302: 1, 400: CLIENTS - 1}, figures
    assert all(refusal in a.text for a in answers if a.status_code == 400), figures
    later = sessions[0].post(server + path, timeout=120, allow_redirects=False,
                             data={**form, "csrf_token": tokens[0]})
    assert later.status_code == 400 and refusal in later.text
    db.session.remove()
    assert db.session.scalar(count()) == 1, figures
