"""The key pages on a 360 px phone (no sideways scrolling, filters first, readable charts), the
print view with and without scripts, and how many Tab presses reach the content."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kb.models import Role
from kb.services import accounts, ingestion, processing, workflow, workshops
from tests.conftest import SHARED_DATA
from tests.factories import make_resource

from .test_ui import open_account_menu, sign_in_through_form

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
LONG_WORD = "Decentralisation" * 4
# How far the page scrolls sideways, and what sticks out (inside no scrolling box).
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (!box.width || box.right <= width + 0.5) continue;
    let inside = false;
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(up).overflowX)) {
        inside = true; break;
      }
    }
    if (!inside) out.push(el.tagName.toLowerCase() + '.' + String(el.className).split(' ')[0]
                          + ' +' + Math.round(box.right - width) + 'px');
  }
  return {scroll: document.documentElement.scrollWidth - width, out: out.slice(0, 5)};
}"""


@pytest.fixture
def site(live_app):
    """A collection with a rendered preview, a file-type card, a very long word, a trainer with a
    workshop, a resource waiting for review; returns ids and the trainer's and admin's e-mails."""
    with live_app.app_context():
        people = {role: accounts.create_user(f"{role}@phone.example", f"Phone {role}",
                                             Role(role), password="correct horse battery")
                  for role in ("contributor", "editor", "admin")}
        editor, trainer = people["editor"], people["contributor"]
        office = SHARED_DATA / "office-docs"
        made = []
        for name, title in (("pdf/pdflatex-4-pages.pdf", "Commune budget report"),
                            ("docx/test.docx", "Commune minutes template")):
            with (office / name).open("rb") as handle:
                resource = ingestion.contribute(editor, {
                    "title": title, "kind": "reform_document", "objectives": ["1"],
                    "language": ["en"]}, [ingestion.Upload(name.split("/")[1], handle)],
                    publish=True, process=False)
            for stored in resource.current_files:
                processing.process_file(stored.id)
            made.append(resource.id)
        long_one = make_resource(editor, publisher=editor, title=f"{LONG_WORD} commune handbook",
                                 tags=f"{LONG_WORD}, commune", objectives=["1"],
                                 source_url="https://example.org/" + "a" * 90)
        for number in range(22):
            make_resource(editor, publisher=editor, title=f"Commune plan guide {number}",
                          objectives=[str(1 + number % 3)], kind="best_practice")
        waiting = make_resource(trainer, title="Commune water by-laws")
        workflow.submit(trainer, waiting)
        workshop = workshops.create_workshop(trainer, {
            "title": "A commune budget workshop with a rather long title for a phone",
            "language": "en", "visibility": "members"})
        for resource_id in made + [long_one.id]:
            workshops.add_item(trainer, workshop, resource_id)
        return {"pdf": made[0], "word": made[1], "long": long_one.id,
                "workshop": workshop.id, "people": {r: u.email for r, u in people.items()}}


def phone_for(pages, site, role: str | None, language: str = "en"):
    phone = pages.new(viewport=PHONE, is_mobile=True, has_touch=True)
    if role:
        sign_in_through_form(phone, site["people"][role])  # the English form's labels
    phone.context.add_cookies([{"name": "kb_lang", "value": language,
                                "url": pages.base_url}])
    return phone


def assert_fits(phone, path: str) -> None:
    response = phone.goto(path)
    assert response is not None and response.status == 200, path
    phone.evaluate("async () => { await document.fonts.ready; }")
    width = phone.evaluate(OVERFLOW_JS)
    assert width["scroll"] <= 0 and not width["out"], f"{path} scrolls sideways: {width}"


@pytest.mark.parametrize("role,language", [(None, "en"), (None, "km"), ("contributor", "en"),
                                           ("contributor", "km"), ("admin", "en"),
                                           ("admin", "km")])
def test_key_pages_fit_a_360_pixel_phone(pages, site, role, language):
    phone = phone_for(pages, site, role, language)
    paths = ["/", "/search?q=commune", f"/resources/{site['long']}",
             f"/resources/{site['pdf']}", f"/resources/{site['word']}", "/objectives/1", "/new"]
    if role == "contributor":
        paths += [f"/workshops/{site['workshop']}", f"/workshops/{site['workshop']}/print"]
    if role == "admin":
        paths += ["/admin/", "/review", "/admin/users"]
    for path in paths:
        assert_fits(phone, path)


def test_on_a_phone_the_filters_come_first_folded_with_the_active_count(pages, site):
    phone = phone_for(pages, site, None)
    phone.goto("/search?q=commune&kind=best_practice")
    toggle = phone.locator(".filter-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_contain_text("Filters")
    expect(toggle.locator(".filter-count")).to_have_text("1 active")
    panel = phone.locator("[data-filter-panel]")
    expect(panel).not_to_have_attribute("open", re.compile(".*"))
    results = phone.locator(".results").bounding_box()
    assert toggle.bounding_box()["y"] < results["y"] < 700  # results start on the first screen
    toggle.click()
    objective = phone.locator(".facets").get_by_role("link", name=re.compile("Awareness"))
    expect(objective).to_be_visible()
    assert phone.locator(".facets").bounding_box()["y"] < phone.locator(
        ".results").bounding_box()["y"]

    desktop = pages.new(viewport={"width": 1280, "height": 900})
    desktop.goto("/search?q=commune&kind=best_practice")
    expect(desktop.locator(".filter-toggle")).to_be_hidden()
    expect(desktop.locator(".facets")).to_be_visible()  # a column beside the results


@pytest.mark.parametrize("language", ["en", "km"])
def test_the_dashboard_charts_are_readable_on_a_phone(pages, site, language):
    phone = phone_for(pages, site, "admin", language)
    phone.goto("/admin/")
    phone.evaluate("async () => { await document.fonts.ready; }")
    sizes = phone.locator(".chart-label").evaluate_all("""labels => labels.map(l => {
        const box = l.getBoundingClientRect(), svg = l.ownerSVGElement.getBoundingClientRect();
        return {text: l.textContent, height: box.height, inside: box.left >= svg.left - 0.5
                && box.right <= svg.right + 0.5, box: [box.left, box.right, box.top],
                svg: [svg.left, svg.right, svg.top, svg.bottom]};
    })""")
    assert sizes
    for label in sizes:
        assert label["inside"], f"clipped: {label}"
        assert label["height"] >= 12, f"too small to read: {label}"
    third = [label for label in sizes if label["text"].startswith("3.")]
    assert third and not third[0]["text"].endswith("…")  # the third objective, whole
    expect(phone.locator(".status-counts tbody tr")).to_have_count(5)  # one row per status


def test_the_print_button_needs_scripts_and_the_handout_lists_each_file_once(pages, site):
    trainer = pages.new()
    sign_in_through_form(trainer, site["people"]["contributor"])
    trainer.goto(f"/workshops/{site['workshop']}/print")
    expect(trainer.get_by_role("button", name="Print")).to_be_visible()
    downloads = trainer.locator("a[href*='/download']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    assert downloads and len(downloads) == len(set(downloads))
    trainer.emulate_media(media="print")
    expect(trainer.locator(".handout-tools")).to_be_hidden()

    without_scripts = pages.new(java_script_enabled=False)
    sign_in_through_form(without_scripts, site["people"]["contributor"])
    without_scripts.goto(f"/workshops/{site['workshop']}/print")
    expect(without_scripts.locator("[data-print]")).to_be_hidden()  # it could not print


def tab_presses_until(page, selector: str, limit: int = 60) -> int:
    for count in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => !!document.activeElement.closest({selector!r})"):
            return count
    raise AssertionError(f"{selector} not reached in {limit} presses")


def test_few_tab_stops_before_the_content(pages, site):
    visitor = pages.new(viewport={"width": 1280, "height": 900})
    visitor.goto("/")
    # Skip link, brand, five sections (What's new is on the Browse page), sign in, join, the
    # other language: then the content.
    assert tab_presses_until(visitor, "main") <= 11
    trainer = pages.new(viewport={"width": 1280, "height": 900})
    sign_in_through_form(trainer, site["people"]["contributor"])
    trainer.goto("/")
    # It was 14 (15 for an administrator) with four sections; now five, Consultations and the
    # Calendar among them.
    assert tab_presses_until(trainer, "main") <= 12
    trainer.goto(f"/workshops/{site['workshop']}")
    assert tab_presses_until(trainer, ".agenda-item") <= 16  # it was 21
    # The account's pages are one Tab stop, a menu that opens with the keyboard.
    trainer.goto("/")
    menu = trainer.locator(".account-menu summary")
    menu.focus()
    trainer.keyboard.press("Enter")
    expect(trainer.locator(".account-links").get_by_role("link", name="My account")).to_be_visible()
    open_account_menu(trainer)
