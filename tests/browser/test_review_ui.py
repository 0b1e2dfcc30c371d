"""Review before publication in a real browser: a contributor submits, an editor returns the
resource with a comment, the contributor reads it, edits and resubmits, the editor approves."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kb.extensions import db
from kb.models import Resource, Status, User
from kb.services import resources
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

COMMENT = "Please add the 2023 budget figures."


def sign_in(page, email: str):
    page.goto("/signin")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form").get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-success")).to_be_visible()


def nav(page):
    return page.locator("nav.menu")


def test_submit_return_edit_resubmit_approve(pages, live_app, live_user):
    contributor = live_user("contributor", name="Sokha Contributor")
    editor = live_user("editor", name="Dara Editor")
    with live_app.app_context():
        owner = db.session.get(User, contributor.id)
        resource_id = resources.create_resource(owner, {
            "title": "Commune water plan", "kind": "best_practice", "objectives": ["2"],
            "language": ["en"], "summary": "How one commune planned its wells."}).id

    # The contributor sends the draft for review from its page.
    author = pages.new()
    sign_in(author, contributor.email)
    author.goto(f"/resources/{resource_id}")
    expect(author.locator(".status")).to_contain_text("Draft")
    with author.expect_navigation():
        author.get_by_role("button", name="Send for review").click()
    expect(author.locator(".flash-success")).to_contain_text("Sent for review")
    expect(author.locator(".status")).to_contain_text("Submitted for review")
    expect(author.get_by_role("button", name="Send for review")).to_have_count(0)

    # The editor finds it in the queue (the header says one is waiting) and returns it.
    desk = pages.new()
    sign_in(desk, editor.email)
    expect(nav(desk).locator(".review-link .count")).to_have_text("1")
    expect(nav(desk).locator(".notifications-link .count")).to_have_text("1")  # the submission
    nav(desk).get_by_role("link", name=re.compile(r"^Review")).click()
    expect(desk.locator("h1")).to_have_text("Review queue")
    item = desk.locator(f"#resource-{resource_id}")
    expect(item.get_by_role("link", name="Commune water plan")).to_be_visible()
    expect(item).to_contain_text("From Sokha Contributor")
    item.get_by_role("button", name="Return for changes").click()  # no comment: refused
    expect(desk.locator(".flash-error")).to_contain_text("Say what should change")
    item = desk.locator(f"#resource-{resource_id}")
    item.get_by_label("Comment for the contributor").fill(COMMENT)
    with desk.expect_navigation():
        item.get_by_role("button", name="Return for changes").click()
    expect(desk.locator(".flash-success")).to_contain_text("was returned to its contributor")
    expect(desk.locator(".empty")).to_have_text("Nothing is waiting for review.")

    # The contributor is told, reads the comment, edits and sends it again.
    author.goto("/")
    expect(nav(author).locator(".account-menu summary .count")).to_have_text("1")
    nav(author).locator(".account-menu summary").click()
    expect(nav(author).locator(".notifications-link .count")).to_have_text("1")
    nav(author).get_by_role("link", name=re.compile(r"^Notifications")).click()
    notice = author.locator(".notification").first
    expect(notice).to_contain_text("Dara Editor returned “Commune water plan” for changes.")
    expect(notice.locator(".review-comment")).to_have_text(COMMENT)
    expect(nav(author).locator(".notifications-link .count")).to_have_count(0)  # now read
    notice.get_by_role("link").click()
    expect(author.locator(".decision")).to_contain_text("Returned for changes")
    expect(author.locator(".decision .review-comment")).to_have_text(COMMENT)
    author.get_by_role("link", name="Edit details").click()
    expect(author.locator("h1")).to_have_text("Edit details")
    expect(author.locator(".decision .review-comment")).to_have_text(COMMENT)
    author.locator("#title").fill("Commune water plan, with the 2023 budget")
    author.locator("#date").fill("2023-06-30")
    with author.expect_navigation():
        author.get_by_role("button", name="Save and send for review").click()
    expect(author.locator(".flash-success")).to_have_text("Saved and sent for review.")
    expect(author.locator("h1")).to_have_text("Commune water plan, with the 2023 budget")
    expect(author.locator(".status")).to_contain_text("Submitted for review")

    # The editor approves it from the queue.
    desk.goto("/review")
    item = desk.locator(f"#resource-{resource_id}")
    expect(item.get_by_role("link")).to_have_text(["Commune water plan, with the 2023 budget"])
    item.get_by_label("Comment for the contributor").fill("Thank you, well done.")
    with desk.expect_navigation():
        item.get_by_role("button", name="Approve and publish").click()
    expect(desk.locator(".flash-success")).to_contain_text("is approved and published")

    # Published, with its history shown to the contributor.
    author.goto(f"/resources/{resource_id}")
    expect(author.locator(".status")).to_have_count(0)
    expect(author.locator(".published-at")).to_be_visible()
    history = author.locator("section.history")
    expect(history.locator("li strong")).to_have_text([
        "Approved and published", "Sent for review", "Details changed",
        "Returned for changes", "Sent for review", "Created"])
    expect(history).to_contain_text(COMMENT)
    expect(history).to_contain_text("Thank you, well done.")
    expect(history).to_contain_text("by Dara Editor")
    author.goto("/notifications")
    expect(author.locator(".notification").first).to_contain_text(
        "Dara Editor approved “Commune water plan, with the 2023 budget”. It is now published.")

    # Anyone may now read it, without its history.
    reader = pages.new()
    reader.goto(f"/resources/{resource_id}")
    expect(reader.locator("h1")).to_have_text("Commune water plan, with the 2023 budget")
    expect(reader.locator("section.history")).to_have_count(0)
    expect(reader.locator(".published-at")).to_be_visible()
    with live_app.app_context():
        assert db.session.get(Resource, resource_id).status == Status.PUBLISHED
