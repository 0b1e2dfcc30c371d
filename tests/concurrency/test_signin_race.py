"""Many people signing in (or asking to join with one address) at the same moment."""
from __future__ import annotations

from sqlalchemy import func, select

from kb.extensions import db
from kb.models import AccountStatus, User
from tests.concurrency.conftest import at_once, browser_session, form_token, sign_in, statuses

CLIENTS = 12


def test_many_sign_ins_at_once(app, server, make_user):
    """Half the clients are one person on several devices, half are other people."""
    shared = make_user("member")
    people = [shared if i % 2 == 0 else make_user("contributor") for i in range(CLIENTS)]
    emails = [person.email for person in people]  # read here: the threads have no app context
    sessions = [browser_session(server) for _ in range(CLIENTS)]
    tokens = [form_token(session, f"{server}/signin") for session in sessions]
    answers = at_once(CLIENTS, lambda i: sign_in(sessions[i], server, emails[i],
                                                 token=tokens[i]))
    counts = statuses(answers)
    figures = f"{CLIENTS} sign-ins at once: {dict(counts)}"
    assert counts == {302: CLIENTS}, figures
    for session, email in zip(sessions, emails):
        account = session.get(f"{server}/account", timeout=60, allow_redirects=False)
        assert account.status_code == 200, figures
        assert email in account.text
    db.session.remove()
    assert db.session.get(User, shared.id).last_sign_in_at is not None


def test_many_requests_to_join_with_one_address(app, server):
    """The same new address sent by many clients at once: every one gets the same page
    (the join page never tells whether an address is known) and one account waits."""
    sessions = [browser_session(server) for _ in range(CLIENTS)]
    tokens = [form_token(session, f"{server}/join") for session in sessions]

    def join(i):
        return sessions[i].post(f"{server}/join", timeout=120, data={
            "email": "New.Member@Example.org", "name": f"New member {i}",
            "password": "a long enough password", "csrf_token": tokens[i]})

    answers = at_once(CLIENTS, join)
    counts = statuses(answers)
    figures = f"{CLIENTS} requests to join with one address at once: {dict(counts)}"
    assert counts == {200: CLIENTS}, figures
    assert all("Your request has been received" in answer.text for answer in answers), figures
    db.session.remove()
    pending = db.session.scalar(select(func.count()).select_from(User).where(
        User.email == "new.member@example.org", User.status == AccountStatus.PENDING))
    assert pending == 1, figures
