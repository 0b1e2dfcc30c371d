"""Snippets: cut and marked from the offsets the index keeps, whole matches of what was typed,
whatever the length of the document; still right for a resource changed since it was indexed."""
import io

import pytest
from sqlalchemy import update

from kb.extensions import db
from kb.models import Resource
from kb.search import highlight
from kb.services import accounts
from tests.conftest import finish_background_work
from tests.factories import make_resource


@pytest.fixture
def people(make_user):
    return {"editor": make_user("editor"), "alice": make_user("contributor"),
            "member": make_user("member")}


def published(people, **data):
    return make_resource(people["alice"], publisher=people["editor"], **data)


def snippets(client, q, headers=None):
    response = client.get("/api/v1/search", query_string={"q": q}, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    return {r["id"]: r["snippet"] for r in response.get_json()["results"]}


def upload(app, client, editor, name: str, text: str) -> int:
    token = accounts.create_token(editor)
    response = client.post("/api/v1/resources", headers={"Authorization": f"Bearer {token}"},
                           data={"title": name, "kind": "reform_document", "publish": "true",
                                 "file": (io.BytesIO(text.encode()), f"{name}.txt")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    finish_background_work(app)  # the text is read in the background
    return response.get_json()["id"]


def test_a_khmer_word_is_marked_whole_never_its_clusters_inside_other_words(client, people):
    """ជនរងគ្រោះ (victim) shares its first clusters with ជនសង្ស័យ (suspect): only the word
    typed is marked."""
    resource = published(people, title="Report", language=["km"],
                         summary="ប៉ូលិសបានចាប់ជនសង្ស័យម្នាក់ ហើយជនរងគ្រោះបានទៅមន្ទីរពេទ្យ។")
    snippet = snippets(client, "ជនរងគ្រោះ")[resource.id]
    assert snippet.count("<mark>") == 1
    assert "<mark>ជនរងគ្រោះ</mark>" in snippet
    assert "ជនសង្ស័យ" in snippet and "<mark>ជន</mark>សង្ស័យ" not in snippet


def test_a_phrase_is_marked_only_where_its_words_follow_each_other(client, people):
    resource = published(people, title="Budgets",
                         summary="The commune budget is public. A budget of the commune "
                                 "council is discussed.")
    snippet = snippets(client, '"commune budget"')[resource.id]
    assert "<mark>commune budget</mark>" in snippet
    assert snippet.count("<mark>") == 1


def test_matches_deep_in_a_long_report_are_found_without_analysing_it(app, client, people,
                                                                       monkeypatch):
    filler = "The provincial administration reviewed the annual plan of the districts. " * 1400
    text = filler + "Irrigation canals were repaired by the sangkat. " + filler
    assert text.index("Irrigation") > 100_000
    resource_id = upload(app, client, people["editor"], "long-report", text)

    def no_analysis(*_args):
        raise AssertionError("the snippet analysed the text again")

    monkeypatch.setattr(highlight, "_analysed_spans", no_analysis)
    snippet = snippets(client, "irrigation canals")[resource_id]
    assert "<mark>Irrigation</mark> <mark>canals</mark>" in snippet or \
        "<mark>Irrigation canals</mark>" in snippet
    assert snippet.startswith("… ") and snippet.endswith(" …")


def test_a_resource_changed_since_it_was_indexed_gets_a_right_snippet(client, people):
    resource = published(people, title="Water", summary="Farmers repair irrigation canals.")
    # The database changes behind the index's back (as between a commit and the index flush).
    db.session.execute(update(Resource).where(Resource.id == resource.id).values(
        summary_html="<p>Since the floods, farmers repair the irrigation canals.</p>"))
    db.session.commit()
    snippet = snippets(client, "irrigation")[resource.id]
    assert "floods" in snippet and "<mark>irrigation</mark>" in snippet


def test_snippets_of_what_a_member_may_see_are_marked_for_them(client, people):
    members = published(people, title="Members only", visibility="members",
                        summary="The sangkat council met about drainage.")
    headers = {"Authorization": f"Bearer {accounts.create_token(people['member'])}"}
    assert "<mark>drainage</mark>" in snippets(client, "drainage", headers)[members.id]
    assert snippets(client, "drainage") == {}


def test_a_facet_click_reuses_the_evaluation_and_each_reader_gets_its_own_counts(
        client, people, monkeypatch):
    from kb.search import searcher
    from kb.search.evaluate import query_key

    seen = []

    class Counting(searcher.Evaluator):
        def evaluate(self, q):
            seen.append(query_key(q) if q is not None else None)
            return super().evaluate(q)

    monkeypatch.setattr(searcher, "Evaluator", Counting)
    public = published(people, title="Drainage plan", kind="training_material")
    hidden = published(people, title="Drainage survey", visibility="members")
    anonymous = client.get("/api/v1/search", query_string={"q": "drainage plan OR survey"})
    clicked = client.get("/api/v1/search", query_string={"q": "drainage plan OR survey",
                                                         "kind": "training_material"})
    headers = {"Authorization": f"Bearer {accounts.create_token(people['member'])}"}
    member = client.get("/api/v1/search", query_string={"q": "drainage plan OR survey"},
                        headers=headers)
    assert [r.status_code for r in (anonymous, clicked, member)] == [200, 200, 200]
    assert [r["id"] for r in anonymous.get_json()["results"]] == [public.id]
    assert anonymous.get_json()["facets"]["kind"] == {"training_material": 1}
    assert clicked.get_json()["total"] == 1
    assert {r["id"] for r in member.get_json()["results"]} == {public.id, hidden.id}
    assert member.get_json()["facets"]["kind"] == {"training_material": 1,
                                                   "reform_document": 1}
    from kb.search import parse
    whole = query_key(parse("drainage plan OR survey").query)
    assert seen.count(whole) == 1  # evaluated once, for all three searches
