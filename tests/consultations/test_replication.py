"""The responses' index on two nodes: each node's own index follows the change log, so a
response written or hidden through one node is found (or no longer found) through the other —
not only through whichever node happened to index first, which used to clear a shared flag."""
from __future__ import annotations

import shutil

from sqlalchemy import select

from kb.extensions import db
from kb.models import IndexChange
from kb.models.changes import RESPONSE
from kb.services import indexing, response_search, responses
from tests.conftest import on


def found(user, q: str) -> set[int]:
    return {r.id for r in response_search.search_responses(user, q).responses}


def test_a_response_reaches_the_other_nodes_index_and_so_does_its_hiding(
        app, other_node, people, consultation):
    with on(other_node):
        indexing.catch_up()  # node B builds its indexes from the database
    made = responses.respond(people["card"], consultation, {"text": "Irrigation budgets"})
    entries = db.session.scalars(select(IndexChange.kind).where(
        IndexChange.resource_id == made.id, IndexChange.kind == RESPONSE)).all()
    assert entries == [RESPONSE]  # written with the response, in its transaction
    editor = people["editor"]
    assert found(editor, "irrigation") == {made.id}  # node A: its own commit, at once
    with on(other_node):
        reader = db.session.merge(editor)
        assert found(reader, "irrigation") == set()  # B has not applied it yet
        assert indexing.lag().entries >= 1
        indexing.catch_up()  # A indexed it first; B still gets it
        assert found(reader, "irrigation") == {made.id}
        assert indexing.check().responses == {"missing": [], "stale": [], "orphaned": []}
        # Hidden through B: members stop finding it on A too once A catches up.
        responses.hide_response(reader, db.session.merge(made), "Off topic")
        assert found(db.session.merge(people["cows"]), "irrigation") == set()
    member = people["cows"]
    assert found(member, "irrigation") == {made.id}  # A's index: not caught up yet
    assert indexing.check().responses["stale"] == [made.id]  # and kb check says so
    indexing.catch_up()
    assert found(member, "irrigation") == set()
    assert indexing.check().ok


def test_a_node_whose_response_index_is_lost_rebuilds_it(app, people, consultation):
    made = responses.respond(people["card"], consultation, {"text": "Irrigation budgets"})
    shutil.rmtree(response_search.index_path())
    assert indexing.check().responses["missing"] == [made.id]
    result = indexing.catch_up()
    assert not result.rebuilt  # the resources' index was fine: only the responses' rebuilt
    assert found(people["editor"], "irrigation") == {made.id}
    assert indexing.check().ok


def test_kb_check_repair_puts_a_response_missing_from_the_index_back(app, people,
                                                                      consultation):
    from kb.search import responses as response_index

    made = responses.respond(people["card"], consultation, {"text": "Irrigation budgets"})
    response_index.write(response_search.index_path(), lambda: ([], [made.id]))
    report = indexing.check()
    assert report.responses["missing"] == [made.id] and not report.ok
    assert indexing.repair(report).ok
    assert found(people["editor"], "irrigation") == {made.id}
