"""Many clients building one workshop's agenda at once: an item is in a workshop once, and the
positions stay 1..n without gaps or repeats (on main, one resource added by four requests at
once appeared two or three times, all at position 1)."""
from __future__ import annotations

import requests
from sqlalchemy import select

from kb.extensions import db
from kb.models import WorkshopItem
from kb.services import workshops
from tests.concurrency.conftest import (at_once, browser_session, form_token, sign_in, statuses,
                                        token_for)
from tests.factories import make_resource

CLIENTS = 6
ROUNDS = 4


def agenda(workshop_id: int) -> list[tuple[int, int]]:
    """(position, resource id) of every item, from the database."""
    db.session.remove()
    return [(item.position, item.resource_id) for item in db.session.scalars(
        select(WorkshopItem).where(WorkshopItem.workshop_id == workshop_id)
        .order_by(WorkshopItem.position, WorkshopItem.id))]


def setup_workshop(make_user, resources: int):
    """A trainer's workshop, `resources` published resources, and the tokens of the trainer
    and of editors (who may all change the agenda)."""
    trainer, editor = make_user("contributor"), make_user("editor")
    workshop = workshops.create_workshop(trainer, {"title": "Commune planning day"})
    resource_ids = [make_resource(editor, editor, title=f"Guide {n}").id for n in range(resources)]
    tokens = [token_for(trainer if i % 2 == 0 else make_user("editor")) for i in range(CLIENTS)]
    return workshop.id, resource_ids, tokens


def add(server: str, token: str, workshop_id: int, resource_id: int, **body):
    return requests.post(f"{server}/api/v1/workshops/{workshop_id}/items", timeout=120,
                         headers={"Authorization": f"Bearer {token}"},
                         json={"resource_id": resource_id, **body})


def test_the_same_item_from_many_clients(app, server, make_user):
    workshop_id, resource_ids, tokens = setup_workshop(make_user, ROUNDS)
    report = []
    for resource_id in resource_ids:
        answers = at_once(CLIENTS, lambda i: add(server, tokens[i], workshop_id, resource_id,
                                                 note=f"client {i}"))
        report.append(dict(statuses(answers)))
        for answer in answers:
            if getattr(answer, "status_code", None) == 409:
                assert answer.json()["error"] == {
                    "code": "conflict", "field": "resource_id",
                    "message": "This resource is already in the workshop."}
    figures = f"{CLIENTS} clients x {ROUNDS} resources, each added by all at once: {report}"
    assert all(r == {201: 1, 409: CLIENTS - 1} for r in report), figures
    rows = agenda(workshop_id)
    assert [position for position, _ in rows] == list(range(1, ROUNDS + 1)), (figures, rows)
    assert sorted(resource for _, resource in rows) == sorted(resource_ids), (figures, rows)
    later = add(server, tokens[0], workshop_id, resource_ids[0])
    assert later.status_code == 409


def test_different_items_from_many_clients(app, server, make_user):
    workshop_id, resource_ids, tokens = setup_workshop(make_user, CLIENTS * ROUNDS)
    answers = []
    for round_number in range(ROUNDS):
        batch = resource_ids[round_number * CLIENTS:(round_number + 1) * CLIENTS]
        # Half of them ask for the first place, so that positions move while others append.
        answers += at_once(CLIENTS, lambda i: add(
            server, tokens[i], workshop_id, batch[i], **({"position": 1} if i % 2 else {})))
    counts = statuses(answers)
    figures = f"{CLIENTS} clients x {ROUNDS} different resources at once: {dict(counts)}"
    assert counts == {201: CLIENTS * ROUNDS}, figures
    rows = agenda(workshop_id)
    assert [position for position, _ in rows] == list(range(1, CLIENTS * ROUNDS + 1)), \
        (figures, rows)
    assert sorted(resource for _, resource in rows) == sorted(resource_ids), (figures, rows)


def test_removing_moving_and_adding_at_once_on_the_pages(app, server, make_user):
    """The trainer on several devices: removals, moves and additions through the workshop
    pages at once leave every item once, at positions 1..n."""
    trainer, editor = make_user("contributor"), make_user("editor")
    workshop = workshops.create_workshop(trainer, {"title": "Budget hearing rehearsal"})
    workshop_id, email = workshop.id, trainer.email
    resource_ids = [make_resource(editor, editor, title=f"Hearing {n}").id
                    for n in range(2 * CLIENTS)]
    present, added = resource_ids[:CLIENTS], resource_ids[CLIENTS:]
    for resource_id in present:
        workshops.add_item(trainer, workshop, resource_id)
    item_of = {resource: item for item, resource in db.session.execute(
        select(WorkshopItem.id, WorkshopItem.resource_id)
        .where(WorkshopItem.workshop_id == workshop_id))}
    sessions = [browser_session(server) for _ in range(CLIENTS)]
    for session in sessions:
        assert sign_in(session, server, email).status_code == 302
    page = f"{server}/workshops/{workshop_id}"
    tokens = [form_token(session, page) for session in sessions]

    def act(i):
        session, token, item = sessions[i], tokens[i], item_of[present[i]]
        if i % 3 == 0:
            return session.post(f"{page}/items/{item}/remove", timeout=120,
                                allow_redirects=False, data={"csrf_token": token})
        if i % 3 == 1:
            return session.post(f"{page}/items/{item}/move", timeout=120,
                                allow_redirects=False,
                                data={"direction": "up", "csrf_token": token})
        return session.post(f"{server}/workshops/add", timeout=120, allow_redirects=False,
                            data={"workshop_id": workshop_id, "resource_id": added[i],
                                  "csrf_token": token, "next": page})

    answers = at_once(CLIENTS, act)
    counts = statuses(answers)
    figures = f"{CLIENTS} clients removing, moving and adding at once: {dict(counts)}"
    assert counts == {302: CLIENTS}, figures
    rows = agenda(workshop_id)
    removed = {present[i] for i in range(CLIENTS) if i % 3 == 0}
    expected = (set(present) - removed) | {added[i] for i in range(CLIENTS) if i % 3 == 2}
    assert [position for position, _ in rows] == list(range(1, len(rows) + 1)), (figures, rows)
    assert sorted(resource for _, resource in rows) == sorted(expected), (figures, rows)
    for session in sessions:
        assert session.get(page, timeout=60).status_code == 200
