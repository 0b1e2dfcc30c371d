"""Search in a real browser: typing, facets and chips, Khmer, suggestions, a phone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kb.models import Role
from kb.services import accounts
from tests.browser.test_ui import OVERFLOW_JS, PHONE, switch_to_khmer
from tests.factories import make_resource

pytestmark = pytest.mark.browser


@pytest.fixture
def collection(live_app):
    """A few published resources in both languages."""
    with live_app.app_context():
        editor = accounts.create_user("editor-search@example.org", "Editor", Role.EDITOR,
                                      password="a long enough password")
        make_resource(editor, editor, title="Commune budget planning guide",
                      kind="training_material", objectives=["2"],
                      summary="How commune councils plan the yearly budget with citizens.")
        make_resource(editor, editor, title="Budget transparency in districts",
                      kind="reform_document", objectives=["3"],
                      summary="Publishing the district budget for citizens.")
        make_resource(editor, editor, title="ការរៀបចំថវិកាឃុំ", language=["km"],
                      kind="best_practice", objectives=["1"],
                      summary="ក្រុមប្រឹក្សាឃុំរៀបចំថវិកាជាមួយប្រជាពលរដ្ឋ")


def test_search_narrow_by_a_facet_and_remove_the_chip(page, collection):
    page.goto("/")
    page.locator("#home-q").fill("budget")
    with page.expect_navigation():
        page.locator("#home-q").press("Enter")
    expect(page.locator(".result-count")).to_contain_text("2 results")
    expect(page.locator(".snippet mark").first).to_have_text("budget")
    page.locator(".facets").get_by_role("link", name="Training material").click()
    expect(page.locator(".result-count")).to_contain_text("1 result")
    expect(page.locator(".resource-card .card-title")).to_have_text("Commune budget planning guide")
    chip = page.locator(".chips .chip")
    expect(chip).to_contain_text("Training material")
    chip.get_by_role("link").click()
    expect(page.locator(".result-count")).to_contain_text("2 results")


def test_khmer_typed_without_spaces_is_found_and_marked(page, collection):
    page.goto("/search")
    switch_to_khmer(page)
    page.locator("#q").fill("ប្រជាពលរដ្ឋ")
    with page.expect_navigation():
        page.locator("#q").press("Enter")
    expect(page.locator(".resource-card .card-title")).to_have_text("ការរៀបចំថវិកាឃុំ")
    expect(page.locator(".snippet mark")).to_have_text("ប្រជាពលរដ្ឋ")


def test_suggestions_appear_as_you_type(page, collection):
    page.goto("/search")
    with page.expect_response(lambda r: "/search/suggest" in r.url):
        page.locator("#q").press_sequentially("transp", delay=30)
    expect(page.locator("#q-suggestions option")).to_have_count(2)  # a title and a glossary term
    values = page.locator("#q-suggestions option").evaluate_all("os => os.map(o => o.value)")
    assert "Budget transparency in districts" in values and "transparency" in values


def test_search_page_fits_a_phone(pages, collection):
    phone = pages.new(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    phone.goto("/search?q=budget")
    expect(phone.locator(".resource-card").first).to_be_visible()
    width = phone.evaluate(OVERFLOW_JS, PHONE["width"])
    assert width["innerWidth"] == PHONE["width"], f"zoomed out to fit wide content: {width}"
    assert width["scrollWidth"] <= width["innerWidth"], f"horizontal overflow: {width}"
