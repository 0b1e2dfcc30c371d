"""Every node's search index follows the change log: each change appends an entry in its own
transaction; a node applies its own at once and others' when it catches up (its follower
polls); a lost index is rebuilt from the database; lag is reported; old entries are pruned."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from kb import search
from kb.extensions import db
from kb.models import IndexChange, IndexLogState, IndexNode, utcnow
from kb.search.index import APPLIED_FILE
from kb.services import indexing, resources, workflow
from kb.services import search as search_service
from tests.conftest import on
from tests.factories import make_resource


@pytest.fixture
def people(make_user):
    return {"editor": make_user("editor"), "author": make_user("contributor")}


def found(q: str, user=None) -> list[int]:
    page = search_service.run(user, search_service.SearchParams(q=q))
    return [item.resource.id for item in page.items]


def entries_for(resource_id: int) -> int:
    return db.session.scalar(select(func.count(IndexChange.seq))
                             .where(IndexChange.resource_id == resource_id))


def test_each_change_appends_an_entry_in_the_same_transaction(app, people):
    resource = make_resource(people["author"], title="Entries of a resource")
    assert entries_for(resource.id) == 1
    resources.update_resource(people["author"], resource, {"title": "Entries, renamed"})
    workflow.submit(people["author"], resource)
    workflow.review(people["editor"], resource, "approve", "")
    assert entries_for(resource.id) == 4
    # A change that is rolled back leaves no entry.
    resource.title = "Never committed"
    indexing.mark(resource)
    db.session.flush()
    db.session.rollback()
    assert entries_for(resource.id) == 4
    resources.delete_resource(people["editor"], resource)
    assert entries_for(resource.id) == 5  # the deletion's entry outlives the row


def test_a_change_on_one_node_reaches_the_other_nodes_search(app, other_node, people):
    with on(other_node):
        assert found("irrigation") == []  # a new node answers from an empty index...
        assert indexing.catch_up().rebuilt  # ...until it is built from the database
    published = make_resource(people["author"], publisher=people["editor"],
                              title="Irrigation schemes in Takeo")
    assert found("irrigation") == [published.id]  # node A at once: its own commit
    with on(other_node):
        assert indexing.lag().entries >= 2
        assert found("irrigation") == []  # not yet applied on B
        applied = indexing.catch_up()
        assert applied.entries >= 2
        assert found("irrigation") == [published.id]
        assert indexing.lag().entries == 0
        # Hidden on B: A's totals and facets stop counting it once A catches up.
        editor = db.session.merge(people["editor"])
        workflow.unpublish(editor, db.session.merge(published), "Outdated")
        assert found("irrigation") == []
    assert found("irrigation") == [published.id]  # A has not caught up yet
    indexing.catch_up()
    page = search_service.run(None, search_service.SearchParams(q="irrigation"))
    assert page.total == 0 and page.facets["kind"] == {}


def test_the_follower_applies_other_nodes_changes_within_a_poll(app, other_node, people):
    other_node.config["INDEX_POLL_SECONDS"] = 0.1
    with on(other_node):
        indexing.start_follower(other_node)
    resource = make_resource(people["author"], publisher=people["editor"],
                             title="Commune council elections")
    deadline, seen = time.monotonic() + 10, []
    while time.monotonic() < deadline and not seen:
        with on(other_node):
            seen = found("elections")
        time.sleep(0.05)
    assert seen == [resource.id]


def test_a_node_with_a_lost_index_rebuilds_and_catches_up(app, other_node, people):
    first = make_resource(people["author"], publisher=people["editor"], title="Budget guide")
    with on(other_node):
        indexing.catch_up()
        path = other_node.config["SEARCH_INDEX_PATH"]
    shutil.rmtree(path)  # the node's disk was replaced
    second = make_resource(people["author"], publisher=people["editor"], title="Budget report")
    with on(other_node):
        result = indexing.catch_up()
        assert result.rebuilt
        assert sorted(found("budget")) == sorted([first.id, second.id])
        assert indexing.check().ok


def test_an_entry_missing_from_the_sequence_is_waited_for_then_passed(app, people):
    """On PostgreSQL a transaction may commit entry n+1 before entry n: the node applies n+1,
    waits for n (it may still come), and passes it after INDEX_GAP_SECONDS."""
    app.config["INDEX_GAP_SECONDS"] = 0.3
    resource = make_resource(people["author"], publisher=people["editor"], title="Gap test")
    before = indexing.lag()
    last = db.session.scalar(select(func.max(IndexChange.seq)))
    db.session.execute(insert(IndexChange).values(seq=last + 2, resource_id=resource.id,
                                                  at=utcnow()))  # last + 1 never commits
    db.session.commit()
    indexing.catch_up()
    path = app.config["SEARCH_INDEX_PATH"]
    assert search.applied_through(path) == last  # waiting at the gap
    assert search.applied_beyond(path) == {last + 2}
    # Another process of this node (kb check, a restart) knows that last + 2 is applied: the
    # node is not behind, and nothing is applied twice (kb check reported a lag after a kill -9).
    indexing._progress.clear()
    assert indexing.lag().entries == 0
    report = indexing.check()
    assert report.pending == 0 and report.ok, report.lines()
    indexing.catch_up()  # this process's own wait for the gap starts now
    time.sleep(0.35)
    indexing.catch_up()
    assert search.applied_through(path) == last + 2
    assert before.entries == 0 and indexing.lag().entries == 0


def test_lag_is_reported_by_healthz_and_kb_check(app, client, other_node, people):
    assert other_node.test_client().get("/healthz").status_code == 503  # no index yet
    with on(other_node):
        indexing.catch_up()
    make_resource(people["author"], title="Lagging")
    body = client.get("/healthz").get_json()
    assert body["index_lag"] == 0 and body["status"] == "ok"
    behind = other_node.test_client().get("/healthz")
    assert behind.status_code == 200
    assert behind.get_json()["index_lag"] >= 1
    with on(other_node):
        report = indexing.check()
        assert report.pending >= 1 and not report.ok
        assert any("Waiting to be indexed" in line for line in report.lines())
        assert indexing.repair(report).ok
        rows = {row.node: row.applied_through for row in db.session.scalars(select(IndexNode))}
        assert rows["node-b"] == db.session.scalar(select(func.max(IndexChange.seq)))


def test_pruned_entries_make_a_node_behind_them_rebuild(app, other_node, people):
    make_resource(people["author"], publisher=people["editor"], title="Old news")
    indexing.catch_up()
    with on(other_node):
        indexing.catch_up()
    db.session.execute(IndexChange.__table__.update().values(at=utcnow().replace(year=2000)))
    # Only these two nodes (the template the test instance was copied from made a third).
    db.session.execute(IndexNode.__table__.delete().where(
        IndexNode.node.notin_([indexing.node_name(), "node-b"])))
    db.session.commit()
    assert indexing.prune(keep_days=7) >= 1
    assert db.session.scalar(select(func.count(IndexChange.seq))) == 0
    pruned = db.session.get(IndexLogState, 1).pruned_through
    assert pruned >= 1
    newer = make_resource(people["author"], publisher=people["editor"], title="Fresh news")
    with on(other_node):
        # Node B is pretended to have been away: its place is behind what was pruned.
        path = other_node.config["SEARCH_INDEX_PATH"]
        (Path(path) / APPLIED_FILE).write_text("0\n")
        indexing._progress.pop(path, None)
        result = indexing.catch_up()
        assert result.rebuilt and newer.id in found("news")


def test_a_node_still_building_its_index_keeps_the_load_balancer_away(app, other_node, people,
                                                                      monkeypatch):
    """A node started with an empty folder answers /healthz 503 ("building") until its first
    catch-up has built its index, so a load balancer does not send it searches it would
    answer without most documents."""
    import threading

    published = make_resource(people["author"], publisher=people["editor"],
                              title="Irrigation schemes in Kampot")
    release, real_catch_up = threading.Event(), indexing.catch_up

    def slow_catch_up(*args, **kwargs):  # a rebuild that takes a while
        release.wait(30)
        return real_catch_up(*args, **kwargs)

    monkeypatch.setattr(indexing, "catch_up", slow_catch_up)
    with on(other_node):
        search.ensure_index(other_node.config["SEARCH_INDEX_PATH"])  # empty, but there
        indexing.start_follower(other_node)
    client = other_node.test_client()
    waiting = client.get("/healthz")
    assert waiting.status_code == 503 and waiting.get_json()["index"] == "building"
    release.set()
    deadline = time.monotonic() + 20
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/healthz").get_json()
        time.sleep(0.05)
    with on(other_node):
        assert found("irrigation") == [published.id]
