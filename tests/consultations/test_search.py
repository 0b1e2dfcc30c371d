"""Searching the responses: members find them (Khmer typed without spaces too), with the
consultation as a facet; visitors find only those of public consultations; hidden and unshared
responses are found by no one else."""
from __future__ import annotations

import pytest

from kb.search import MAX_QUERY_CHARS
from kb.services import consultations, response_search, responses
from tests.consultations.conftest import SHORT_DRAFT, days, open_consultation, publish_draft
from tests.consultations.test_pages import client_for


@pytest.fixture
def found(people, consultation):
    editor = people["editor"]
    members_only = open_consultation(
        editor, publish_draft(editor, SHORT_DRAFT + "\nMembers.", visibility="members"),
        visibility="members", title="Members-only consultation")
    unshared = open_consultation(
        editor, publish_draft(editor, SHORT_DRAFT + "\nUnshared.", visibility="members"),
        visibility="members", title="Unshared consultation", responses_shared=False)
    made = {
        "public": responses.respond(people["card"], consultation, {
            "text": "ផែនការអភិវឌ្ឍឃុំត្រូវផ្សព្វផ្សាយជាសាធារណៈ budget",
            "section_id": consultation.sections[1].id}),
        "members": responses.respond(people["cows"], members_only, {
            "text": "The budget calendar is too short for commune councils"}),
        "unshared": responses.respond(people["pact"], unshared, {
            "text": "Our private budget remark"}),
        "hidden": responses.respond(people["loner"], consultation, {
            "text": "An offensive budget remark"}),
    }
    responses.hide_response(editor, made["hidden"], "Offensive")
    return {"public_consultation": consultation, "members_only": members_only,
            "unshared_consultation": unshared, **made}


def ids(results) -> set[int]:
    return {r.id for r in results.responses}


def test_who_finds_which_response(people, found):
    by_reader = {None: {"public"}, "card": {"public", "members"},
                 "pact": {"public", "members", "unshared"},
                 "loner": {"public", "members", "hidden"},
                 "editor": {"public", "members", "unshared", "hidden"}}
    for who, expected in by_reader.items():
        user = people[who] if who else None
        results = response_search.search_responses(user, "budget")
        assert ids(results) == {found[k].id for k in expected}, who
        assert results.total == len(expected), who
        facet_ids = {c.id for c, _n in results.facets}
        assert (found["members_only"].id in facet_ids) == (who is not None), who


def test_khmer_typed_without_spaces_is_found_and_marked(people, found):
    results = response_search.search_responses(people["card"], "អភិវឌ្ឍឃុំ")
    assert ids(results) == {found["public"].id}
    assert "<mark>" in str(results.snippets[found["public"].id])


def test_the_consultation_facet_narrows_the_results(people, found):
    results = response_search.search_responses(people["card"], "budget",
                                                found["members_only"].id)
    assert ids(results) == {found["members"].id}
    assert dict((c.id, n) for c, n in results.facets) == {
        found["public_consultation"].id: 1, found["members_only"].id: 1}


def test_unshared_responses_become_searchable_after_the_deadline(people, found):
    assert found["unshared"].id not in ids(response_search.search_responses(people["card"],
                                                                            "private"))
    consultations.update_consultation(people["editor"], found["unshared_consultation"],
                                      {"opens": days(-9), "closes": days(-1)})
    assert found["unshared"].id in ids(response_search.search_responses(people["card"],
                                                                        "private"))


def test_the_search_page_as_each_role(app, people, found):
    for who, sees_members in (("anonymous", False), ("card", True), ("editor", True)):
        for language in ("en", "km"):
            client = client_for(app, people, who, language)
            page = client.get("/consultations/responses?q=budget")
            assert page.status_code == 200, who
            text = page.get_data(as_text=True)
            assert ("commune councils" in text) == sees_members, who
            assert "An offensive" not in text or who == "editor"
    client = app.test_client()
    for bad in ("?consultation=abc", "?page=0", "?page=x", "?q=" + "a" * (MAX_QUERY_CHARS + 1),
                "?consultation=99999999999999"):
        assert client.get("/consultations/responses" + bad).status_code == 400, bad


def test_kb_reindex_rebuilds_the_response_index(app, people, found, instance):
    from tests.conftest import run_kb

    result = run_kb(instance, "reindex")
    assert result.exit_code == 0 and "4 consultation responses" in result.output
    assert ids(response_search.search_responses(people["editor"], "budget")) == {
        found[k].id for k in ("public", "members", "unshared", "hidden")}
