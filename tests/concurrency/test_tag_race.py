"""Many clients creating the same new tags at once: every upload succeeds and each tag exists
once, however its clients spell its case (on main, 34-42 % of such uploads answered 500)."""
from __future__ import annotations

import uuid
from collections import defaultdict

import requests
from sqlalchemy import select

from kb.extensions import db
from kb.models import Resource, Tag
from tests.concurrency.conftest import at_once, statuses, token_for

CLIENTS = 4
ROUNDS = 12


def spelling(name: str, client: int) -> str:
    """Each client writes the tag in its own case."""
    return [name, name.upper(), name.lower(), name.title()][client % 4]


def test_the_same_new_tags_from_many_clients(app, server, make_user):
    run = uuid.uuid4().hex[:6]
    tokens = [token_for(make_user("contributor")) for _ in range(CLIENTS)]
    answers = []
    for round_number in range(ROUNDS):
        tags = [f"Water Supply {run} {round_number}", f"ទឹកស្អាត {run} {round_number}"]

        def upload(client):
            body = f"client {client} round {round_number} {uuid.uuid4().hex}".encode()
            return requests.post(
                f"{server}/api/v1/resources", timeout=120,
                headers={"Authorization": f"Bearer {tokens[client]}"},
                data={"kind": "reform_document", "title": f"Race {run} {round_number} {client}",
                      "tags": ", ".join(spelling(tag, client) for tag in tags)},
                files={"file": (f"note-{client}.txt", body, "text/plain")})

        answers += at_once(CLIENTS, upload)
    counts = statuses(answers)
    figures = (f"{CLIENTS} clients x {ROUNDS} uploads with new tags: {dict(counts)}; "
               + "; ".join(f"{a.status_code} {a.text[:200]}" for a in answers
                           if getattr(a, "status_code", None) != 201)[:2000])
    assert counts == {201: CLIENTS * ROUNDS}, figures

    db.session.remove()
    by_key = defaultdict(list)
    for tag in db.session.scalars(select(Tag).where(Tag.name_key.contains(run))):
        by_key[tag.name.casefold()].append(tag.name)
    duplicated = {key: names for key, names in by_key.items() if len(names) > 1}
    assert not duplicated, f"{len(duplicated)} tags stored more than once: {duplicated}"
    assert len(by_key) == 2 * ROUNDS, figures
    resources = list(db.session.scalars(select(Resource).where(Resource.title.contains(run))))
    assert len(resources) == CLIENTS * ROUNDS
    assert all(len(resource.tags) == 2 for resource in resources)
