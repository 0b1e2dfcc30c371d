"""Workshop packs in a real browser: a trainer builds one from search results, puts the agenda
in order with the keyboard alone (and with the mouse), and prints a handout."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kb.extensions import db
from kb.models import Resource, Role, User
from kb.services import accounts, workshops
from tests.browser.test_ui import sign_in_through_form
from tests.factories import make_resource

pytestmark = pytest.mark.browser

TITLES = ["Commune budget cycle", "Budget hearing checklist", "Citizen budget posters"]


@pytest.fixture
def materials(live_app):
    with live_app.app_context():
        editor = accounts.create_user("editor-workshops@example.org", "Editor", Role.EDITOR)
        for title in TITLES:
            make_resource(editor, editor, title=title, kind="training_material")


def agenda_titles(page) -> list[str]:
    """Each item's accessible name: the title it is labelled by."""
    return page.locator(".agenda-editor > .agenda-item").evaluate_all(
        "items => items.map(item => document.getElementById("
        "item.getAttribute('aria-labelledby')).textContent.trim())")


def build_workshop(page) -> str:
    """Create a workshop through the form and add every budget resource from the results."""
    page.locator("nav.menu").get_by_role("link", name="Workshops").click()
    page.get_by_role("link", name="New workshop").click()
    page.locator("#title").fill("Budget literacy for councillors")
    page.locator("#date").fill("2025-03-10")
    page.locator("#audience").fill("Commune councillors")
    with page.expect_navigation():
        page.get_by_role("button", name="Create the workshop").click()
    workshop_url = page.url
    page.goto("/search?q=budget&sort=title")
    for title in sorted(TITLES):
        card = page.locator("article.resource-card", has_text=title)
        card.locator("summary", has_text="Add to workshop").click()  # one folded control
        with page.expect_navigation():
            card.get_by_role("button", name=re.compile(r"^Add")).click()
        expect(page.locator(".flash-success")).to_contain_text("Added to")
    page.goto(workshop_url)
    return workshop_url


def test_trainer_reorders_the_agenda_by_keyboard_and_it_persists(page, live_user, materials):
    trainer = live_user("contributor")
    sign_in_through_form(page, trainer.email)
    build_workshop(page)
    start = ["Budget hearing checklist", "Citizen budget posters", "Commune budget cycle"]
    assert agenda_titles(page) == start

    # Alt+ArrowUp on a focused item moves it; the focus stays with it.
    last = page.locator(".agenda-item", has_text="Commune budget cycle")
    last.focus()
    for _ in range(2):
        with page.expect_response(lambda r: r.url.endswith("/order")) as saved:
            page.keyboard.press("Alt+ArrowUp")
        assert saved.value.ok
    expect(last).to_be_focused()
    expect(page.locator("[data-agenda-status]")).to_have_text(
        "Commune budget cycle is now number 1 of 3.")
    assert agenda_titles(page) == ["Commune budget cycle", "Budget hearing checklist",
                                   "Citizen budget posters"]

    # Tab to a "Move down" button and press it with the keyboard.
    page.keyboard.press("Tab")  # from the item to the resource's link, then its buttons
    expect(page.locator(":focus")).to_have_text("Commune budget cycle")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_contain_text("Move up")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_contain_text("Move down")
    with page.expect_response(lambda r: r.url.endswith("/order")) as saved:
        page.keyboard.press("Enter")
    assert saved.value.ok
    expected = ["Budget hearing checklist", "Commune budget cycle", "Citizen budget posters"]
    assert agenda_titles(page) == expected

    page.reload()
    assert agenda_titles(page) == expected


def test_the_print_view_renders_the_handout(page, live_user, materials):
    trainer = live_user("contributor")
    sign_in_through_form(page, trainer.email)
    build_workshop(page)
    page.locator(".agenda-item", has_text="Commune budget cycle").locator(
        "summary").click()
    page.locator(".agenda-item", has_text="Commune budget cycle").locator(
        "textarea[name=note]").fill("Ask each group to find **one** line in the budget.")
    page.locator(".agenda-item", has_text="Commune budget cycle").locator(
        "input[name=session]").fill("Morning")
    with page.expect_navigation():
        page.locator(".agenda-item", has_text="Commune budget cycle").get_by_role(
            "button", name="Save").click()

    page.get_by_role("link", name="Print a handout").click()
    expect(page.locator("h1")).to_have_text("Budget literacy for councillors")
    expect(page.locator(".agenda-session h3")).to_have_text(["Morning"])
    expect(page.locator(".agenda-entry .agenda-title a")).to_have_text(sorted(TITLES))
    expect(page.locator(".trainer-note strong")).to_have_text("one")
    expect(page.locator(".materials > li")).to_have_count(3)
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown by the script
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith(
        '"Noto Sans Khmer"')  # the site's stylesheet loaded (no inline style allowed)

    page.emulate_media(media="print")
    expect(page.locator(".handout-tools")).to_be_hidden()
    expect(page.locator(".agenda-entry")).to_have_count(3)


def test_drag_and_drop_reorders_and_persists(page, live_app, live_user, materials):
    trainer = live_user("contributor")
    with live_app.app_context():
        owner = db.session.get(User, trainer.id)
        workshop = workshops.create_workshop(owner, {"title": "Dragged"})
        for title in sorted(TITLES):
            resource = db.session.scalar(db.select(Resource).where(Resource.title == title))
            workshops.add_item(owner, workshop, resource.id)
        workshop_id = workshop.id
    sign_in_through_form(page, trainer.email)
    page.goto(f"/workshops/{workshop_id}")

    last = page.locator(".agenda-item", has_text="Commune budget cycle")
    first = page.locator(".agenda-item", has_text="Budget hearing checklist")
    with page.expect_response(lambda r: r.url.endswith("/order")) as saved:
        last.locator(".drag-handle").drag_to(first, target_position={"x": 20, "y": 5})
    assert saved.value.ok
    expected = ["Commune budget cycle", "Budget hearing checklist", "Citizen budget posters"]
    assert agenda_titles(page) == expected
    page.reload()
    assert agenda_titles(page) == expected
