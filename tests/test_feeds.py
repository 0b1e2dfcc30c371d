"""Atom feeds, read with a real feed parser (feedparser), as subscribers' readers would."""
from __future__ import annotations

import html
import re

import feedparser
import pytest

from tests.conftest import sign_in
from tests.factories import make_resource
from tests.standards import assert_valid, atom_schema


@pytest.fixture
def people(make_user):
    return {"editor": make_user("editor"), "member": make_user("member")}


@pytest.fixture
def collection(people):
    editor = people["editor"]
    return {
        "water": make_resource(
            editor, publisher=editor, title="Commune water user groups", kind="best_practice",
            objectives=["2", "3"], date="2021-06-01", authors=["Sok Dara", "Chan Sophea"],
            summary="How <em>communes</em> share water.<script>alert(1)</script>",
            commune_code="010201"),
        "budget": make_resource(editor, publisher=editor, title="Commune budget guide",
                                kind="reform_document", objectives=["1"], date="2023-02-01",
                                org="CARD"),
        "members": make_resource(editor, publisher=editor, title="Members only water notes",
                                 kind="best_practice", objectives=["2"], visibility="members"),
        "draft": make_resource(editor, title="Draft water plan", kind="best_practice",
                               objectives=["2"]),
    }


def read_feed(client, query: str = ""):
    response = client.get(f"/feeds/resources.atom{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/atom+xml"
    assert_valid(atom_schema(), response.data, "the feed (RFC 4287's RELAX NG schema)")
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def titles(parsed) -> list[str]:
    return [entry.title for entry in parsed.entries]


def test_the_feed_carries_new_public_resources_newest_first(client, collection):
    parsed = read_feed(client)
    assert titles(parsed) == ["Commune budget guide", "Commune water user groups"]
    assert parsed.feed.title == "New resources in the DDWG Knowledge Base"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == "http://localhost/feeds/resources.atom"

    water = parsed.entries[1]
    url = f"http://localhost/resources/{collection['water'].id}"
    assert water.id == url and water.link == url
    assert water.published_parsed and water.updated_parsed
    assert [author.name for author in water.authors] == ["Sok Dara", "Chan Sophea"]
    assert water.summary_detail.type == "text/html"
    assert "<em>communes</em>" in water.summary and "script" not in water.summary
    terms = {(tag.scheme.rsplit("/", 2)[-2], tag.term) for tag in water.tags}
    assert terms == {("kinds", "best_practice"), ("objectives", "2"), ("objectives", "3")}
    assert "author" not in parsed.entries[0]  # without authors, the feed's author stands
    assert parsed.feed.author == "DDWG Knowledge Base"


def test_signing_in_never_adds_members_only_or_unpublished_resources(app, people,
                                                                      collection):
    for role in ("member", "editor"):
        client = app.test_client()
        sign_in(client, people[role].email)
        assert "Members only water notes" in client.get("/search?q=water").get_data(
            as_text=True), role  # the reader does see it on the site
        assert titles(read_feed(client, "?q=water")) == ["Commune water user groups"], role


def test_a_feed_follows_a_search_with_its_filters(client, collection):
    assert titles(read_feed(client, "?kind=best_practice")) == ["Commune water user groups"]
    assert titles(read_feed(client, "?objective=1")) == ["Commune budget guide"]
    assert titles(read_feed(client, "?org=card")) == ["Commune budget guide"]
    assert titles(read_feed(client, "?q=water&province=01")) == ["Commune water user groups"]
    assert titles(read_feed(client, "?kind=best_practice&objective=1")) == []
    labelled = read_feed(client, "?kind=best_practice&objective=3")
    assert labelled.feed.title == ("New resources in the DDWG Knowledge Base: "
                                   "Commune best practice, Transparency and accountability")
    assert [link.href for link in labelled.feed.links if link.rel == "self"] == [
        "http://localhost/feeds/resources.atom?kind=best_practice&objective=3"]


BAD_FILTERS = [
    ("?objective=9", "objective"), ("?language=fr", "language"), ("?kind=novel", "kind"),
    ("?org=NOBODY", "org"), ("?province=99", "province"), ("?commune=999999", "commune"),
    ("?sort=random", "sort"), ("?year_from=last", "year_from"), ("?per_page=1000", "per_page"),
]


def test_bad_filters_are_a_clear_400(client):
    for query, field in BAD_FILTERS:
        as_json = client.get(f"/feeds/resources.atom{query}",
                             headers={"Accept": "application/json"}).get_json()
        assert as_json["error"]["field"] == field, query
        page = client.get(f"/feeds/resources.atom{query}")
        assert page.status_code == 400, query
        assert f"<p>{as_json['error']['message']}</p>" in html.unescape(page.get_data(
            as_text=True)), query


def test_pages_link_their_feeds(client, collection):
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*'
                     r'href="/feeds/resources.atom"', home)
    page = client.get("/search?q=water&kind=best_practice&sort=title").get_data(as_text=True)
    subscribe = re.search(r'href="(/feeds/resources\.atom\?[^"]*)"[^>]*>[^<]*Subscribe', page)
    assert subscribe, "no subscribe link on the search page"
    feed_url = html.unescape(subscribe.group(1))
    assert feed_url == "/feeds/resources.atom?q=water&kind=best_practice"
    assert titles(read_feed(client, feed_url.split(".atom", 1)[1])) == [
        "Commune water user groups"]
    for browse_page, query in (("/objectives/2", "?objective=2"),
                               ("/kinds/best_practice", "?kind=best_practice")):
        body = client.get(browse_page).get_data(as_text=True)
        assert 'type="application/atom+xml" title="' in body
        assert f'href="/feeds/resources.atom{query}"' in body, browse_page


def test_an_old_document_published_today_comes_first(client, people, collection):
    """Subscribers hear of what was just published, whatever date the document itself bears."""
    editor = people["editor"]
    make_resource(editor, publisher=editor, title="Sub-decree of 2015, scanned at last",
                  date="2015-03-01")
    assert titles(read_feed(client))[0] == "Sub-decree of 2015, scanned at last"


def test_khmer_entries_in_an_english_feed_say_they_are_khmer(client, people):
    editor = people["editor"]
    make_resource(editor, publisher=editor, title="ការណែនាំអំពីថវិកាឃុំ", language=["km"],
                  summary="សៀវភៅណែនាំសម្រាប់ក្រុមប្រឹក្សាឃុំ")
    make_resource(editor, publisher=editor, title="Commune budget guide", summary="In English")
    english = read_feed(client)
    assert english.feed.language == "en"
    by_title = {entry.title: entry for entry in english.entries}
    khmer = by_title["ការណែនាំអំពីថវិកាឃុំ"]
    assert khmer.title_detail.language == "km" and khmer.summary_detail.language == "km"
    assert by_title["Commune budget guide"].title_detail.language == "en"  # the feed's own
    client.set_cookie("kb_lang", "km")
    in_khmer = read_feed(client)
    assert in_khmer.feed.language == "km"
    by_title = {entry.title: entry for entry in in_khmer.entries}
    assert by_title["Commune budget guide"].title_detail.language == "en"
    assert by_title["ការណែនាំអំពីថវិកាឃុំ"].title_detail.language == "km"


def test_feed_readers_can_ask_whether_anything_changed(client, people, collection):
    first = client.get("/feeds/resources.atom")
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag and modified
    again = client.get("/feeds/resources.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    since = client.get("/feeds/resources.atom", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    editor = people["editor"]
    make_resource(editor, publisher=editor, title="Something new")
    changed = client.get("/feeds/resources.atom", headers={"If-None-Match": etag,
                                                           "If-Modified-Since": modified})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Something new" in changed.get_data(as_text=True)


def test_the_search_page_head_links_the_feed_of_its_own_search(client, collection):
    page = client.get("/search?q=water&kind=best_practice&sort=title&page=1")
    assert page.status_code == 200
    links = re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"',
                       page.get_data(as_text=True))
    assert [html.unescape(link) for link in links] == [
        "/feeds/resources.atom?q=water&kind=best_practice"]
    assert titles(read_feed(client, "?q=water&kind=best_practice")) == [
        "Commune water user groups"]
