"""Browsing by objective, kind, organisation and place, and what is new."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kb.extensions import db
from kb.models import Commune, District
from kb.services import browse
from tests.conftest import sign_in
from tests.factories import make_resource

KHMER = re.compile(r"[\u1780-\u17FF]")


@pytest.fixture
def editor(make_user):
    return make_user("editor")


@pytest.fixture
def guides(editor):
    """The same kind of resource three times: public, members-only, and a draft."""
    common = {"kind": "training_material", "objectives": ["2"], "org": "BDC/CBO"}
    return {
        "public": make_resource(editor, publisher=editor, title="Open water guide", **common),
        "members": make_resource(editor, publisher=editor, title="Members water guide",
                                 visibility="members", **common),
        "draft": make_resource(editor, title="Draft water guide", **common),
    }


def page_text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


BROWSE_PAGES = ["/objectives/2", "/kinds/training_material", "/organisations/BDC/CBO", "/new"]


def test_anonymous_readers_see_only_published_public_resources(client, guides):
    for path in BROWSE_PAGES:
        page = page_text(client, path)
        assert "Open water guide" in page, path
        assert "Members water guide" not in page, path
        assert "Draft water guide" not in page, path
    overview = page_text(client, "/browse")
    assert re.search(r'href="/kinds/training_material">[^<]+</a>\s*<span class="count">1<',
                     overview)


def test_signed_in_readers_also_see_members_only_but_never_drafts(app, make_user, editor,
                                                                   guides):
    for user in (make_user("member"), editor):
        client = app.test_client()
        sign_in(client, user.email)
        for path in BROWSE_PAGES:
            page = page_text(client, path)
            assert "Open water guide" in page and "Members water guide" in page, path
            assert "Draft water guide" not in page, path


def test_each_page_links_its_search_and_its_feed(client, guides):
    for path, query in (("/objectives/2", "objective=2"),
                        ("/kinds/training_material", "kind=training_material"),
                        ("/organisations/BDC/CBO", "org=BDC/CBO")):
        page = page_text(client, path)
        assert f'href="/search?{query}"' in page, path
        assert f'href="/feeds/resources.atom?{query}"' in page, path
    objective = page_text(client, "/objectives/2")
    assert "Influencing decisions" in objective
    assert "Opportunities for civil society to influence government decisions" in objective


def test_unknown_things_are_not_found(client):
    for path in ("/objectives/7", "/kinds/novel", "/organisations/NOBODY", "/places/99",
                 "/places/01/0201", "/places/01/0102/020101", "/places/01/0102/999999"):
        assert client.get(path).status_code == 404, path


def test_directory_home_and_navigation_link_the_browse_pages(client):
    directory = page_text(client, "/organisations")
    assert 'href="/organisations/BDC/CBO"' in directory
    assert 'href="/organisations/Oxfam%20GB"' in directory
    assert page_text(client, "/organisations/Oxfam%20GB").count("Oxfam GB") >= 1
    home = page_text(client, "/")
    for number in (1, 2, 3):
        assert f'href="/objectives/{number}"' in home
    nav = re.search(r'<nav class="menu".*?</nav>', home, re.S).group(0)
    assert 'href="/browse"' in nav
    # What's new is one of the Browse page's ways in (the top bar keeps to five sections).
    assert 'href="/new"' in page_text(client, "/browse")


def test_pages_are_paginated(client, editor, monkeypatch):
    monkeypatch.setattr(browse, "PER_PAGE", 2)
    for n in range(3):
        make_resource(editor, publisher=editor, title=f"Guide number {n}")
    first = page_text(client, "/new")
    assert "Guide number 2" in first and "Guide number 1" in first  # newest first
    assert "Guide number 0" not in first
    assert 'href="/new?page=2"' in first
    second = page_text(client, "/new?page=2")
    assert "Guide number 0" in second and 'href="/new?page=1"' in second
    assert "Guide number" not in page_text(client, "/new?page=40")
    assert "Guide number 2" in page_text(client, "/new?page=nonsense")


@pytest.fixture
def practices(editor):
    other_commune = db.session.scalar(select(Commune).join(District).where(
        District.province_code == "02").order_by(Commune.code))
    return {
        "here": make_resource(editor, publisher=editor, title="Banteay Neang seed bank",
                              kind="best_practice", commune_code="010201"),
        "members": make_resource(editor, publisher=editor, title="Members seed bank",
                                 kind="best_practice", commune_code="010201",
                                 visibility="members"),
        "not_a_practice": make_resource(editor, publisher=editor, title="Commune report",
                                        kind="reform_document", commune_code="010201"),
        "elsewhere": make_resource(editor, publisher=editor, title="Elsewhere seed bank",
                                   kind="best_practice", commune_code=other_commune.code),
    }


def count_next_to(page: str, href: str) -> str:
    match = re.search(rf'href="{re.escape(href)}">.*?<span class="count">([^<]+)</span>',
                      page, re.S)
    assert match, href
    return match.group(1)


def test_places_list_the_best_practices_they_may_see(client, practices):
    places = page_text(client, "/places")
    assert count_next_to(places, "/places/01") == "1 best practice"
    assert count_next_to(places, "/places/03") == "0 best practices"
    assert "Banteay Meanchey" in places and "បន្ទាយមានជ័យ" in places

    province = page_text(client, "/places/01")
    assert count_next_to(province, "/places/01/0102") == "1 best practice"
    assert "Mangkul Bourei" in province and "មង្គលបូរី" in province
    district = page_text(client, "/places/01/0102")
    assert count_next_to(district, "/places/01/0102/010201") == "1 best practice"
    for path in ("/places/01", "/places/01/0102", "/places/01/0102/010201"):
        page = page_text(client, path)
        assert "Banteay Neang seed bank" in page, path
        assert "Members seed bank" not in page and "Commune report" not in page, path
        assert "Elsewhere seed bank" not in page, path
    commune = page_text(client, "/places/01/0102/010201")
    assert 'href="/search?kind=best_practice&amp;commune=010201"' in commune
    assert 'href="/feeds/resources.atom?kind=best_practice&amp;commune=010201"' in commune
    assert "Banteay Neang" in commune and "បន្ទាយនាង" in commune


def test_members_count_members_only_practices(app, make_user, practices):
    client = app.test_client()
    sign_in(client, make_user("member").email)
    assert count_next_to(page_text(client, "/places"), "/places/01") == "2 best practices"
    assert "Members seed bank" in page_text(client, "/places/01/0102/010201")


def test_place_names_come_in_the_readers_language_first(client, practices):
    client.get("/language/km")
    page = page_text(client, "/places/01/0102/010201")
    heading = re.search(r'<h1 class="place-heading">(.*?)</h1>', page, re.S).group(1)
    assert heading.index("បន្ទាយនាង") < heading.index("Banteay Neang")
    assert '<html lang="km">' in page
    assert KHMER.search(re.search(r'<nav class="breadcrumbs".*?</nav>', page, re.S).group(0))
    kind_page = page_text(client, "/kinds/best_practice")
    assert "ការអនុវត្តល្អរបស់ឃុំ សង្កាត់" in kind_page
