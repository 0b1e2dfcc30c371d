"""A consultation in a real browser: a member responds in Khmer to one section of the draft on a
360 px phone screen, and an editor compiles the submission, downloads it and stores it."""
from __future__ import annotations

import re
from datetime import timedelta

import pypdfium2
import pytest
from playwright.sync_api import expect

from kb.models import Role
from kb.services import accounts, clock, consultations
from tests.browser.test_ui import OVERFLOW_JS, sign_in_through_form, switch_to_khmer
from tests.conftest import PASSWORD
from tests.consultations.conftest import SHORT_DRAFT, publish_draft

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
KHMER_COMMENT = "ក្រុមប្រឹក្សាឃុំត្រូវការពេលវេលាហុកសិបថ្ងៃ ដើម្បីពិគ្រោះយោបល់ជាមួយប្រជាពលរដ្ឋ"


@pytest.fixture
def open_consultation(live_app):
    with live_app.app_context():
        editor = accounts.create_user("editor-consult@example.org", "Sokha Editor", Role.EDITOR,
                                      password=PASSWORD)
        draft = publish_draft(editor, SHORT_DRAFT)
        today = clock.local_today()
        consultation = consultations.create_consultation(editor, draft.id, {
            "title": "Commune planning sub-decree", "title_km": "អនុក្រឹត្យស្ដីពីផែនការឃុំ",
            "questions": ["Is thirty days enough?"], "opens": today.isoformat(),
            "closes": (today + timedelta(days=7)).isoformat(), "visibility": "members"})
        return {"id": consultation.id, "editor": editor.email,
                "section": consultation.sections[2].id}


def close(live_app, consultation_id: int) -> None:
    with live_app.app_context():
        editor = accounts.get_user_by_email("editor-consult@example.org")
        consultation = consultations.get_consultation(editor, consultation_id)
        today = clock.local_today()
        consultations.update_consultation(editor, consultation, {
            "opens": (today - timedelta(days=10)).isoformat(),
            "closes": (today - timedelta(days=1)).isoformat()})


def fits(page) -> None:
    page.evaluate("async () => { await document.fonts.ready; }")
    width = page.evaluate(OVERFLOW_JS, PHONE["width"])
    assert width["innerWidth"] == PHONE["width"], f"zoomed out to fit wide content: {width}"
    assert width["scrollWidth"] <= width["innerWidth"], f"horizontal overflow: {width}"


def test_a_member_responds_in_khmer_on_a_phone_and_an_editor_compiles(
        pages, live_app, live_user, open_consultation, tmp_path):
    member = live_user("member", org="CARD", name="Dara Member")
    phone = pages.new(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    sign_in_through_form(phone, member.email)
    switch_to_khmer(phone)
    phone.goto(f"/consultations/{open_consultation['id']}")
    expect(phone.locator("h1")).to_have_text("អនុក្រឹត្យស្ដីពីផែនការឃុំ")
    fits(phone)

    section = phone.locator("#article-2")
    expect(section.locator("h3")).to_have_text("Article 2")
    section.locator("summary", has_text="ផ្ដល់មតិលើផ្នែកនេះ").click()
    section.get_by_label("មតិយោបល់របស់អ្នក (ខ្មែរ ឬអង់គ្លេស)").fill(KHMER_COMMENT)
    section.get_by_label("ពាក្យពេចន៍ដែលស្នើ (ស្រេចចិត្ត)").fill("ក្នុងរយៈពេលហុកសិបថ្ងៃ")
    expect(section.get_by_label("ក្នុងនាម CARD")).to_be_checked()
    fits(phone)
    with phone.expect_navigation():
        section.get_by_role("button", name="ផ្ញើមតិឆ្លើយតប").click()
    expect(phone).to_have_url(re.compile(r"#response-\d+$"))
    expect(phone.locator(".flash-success")).to_contain_text("សូមអរគុណ")
    answer = phone.locator("#article-2 .response")
    expect(answer).to_contain_text(KHMER_COMMENT)
    expect(answer).to_have_attribute("lang", "km")
    expect(answer.locator(".by")).to_contain_text("CARD")
    fits(phone)

    close(live_app, open_consultation["id"])
    desk = pages.new(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    sign_in_through_form(desk, open_consultation["editor"])
    desk.goto(f"/consultations/{open_consultation['id']}")
    desk.get_by_role("link", name="Compile the submission").click()
    expect(desk.locator(".submission-preview")).to_contain_text(KHMER_COMMENT)
    desk.get_by_label("Cover note").fill("The members of the working group submit these "
                                         "comments on the draft sub-decree.")
    with desk.expect_navigation():
        desk.get_by_role("button", name="Save the cover note").click()
    expect(desk.locator(".submission-preview")).to_contain_text("The members of the working")
    export = desk.locator("section[aria-labelledby=export-heading]")
    export.get_by_role("link", name="ខ្មែរ").click()  # the document's language, not the page's
    expect(desk.locator(".submission-preview")).to_contain_text("មតិយោបល់តាមផ្នែកនីមួយៗ")
    with desk.expect_download() as download:
        export.get_by_role("link", name="Download as PDF").click()
    saved = tmp_path / "submission.pdf"
    download.value.save_as(saved)
    pdf = pypdfium2.PdfDocument(str(saved))
    text = "".join("".join(pdf[i].get_textpage().get_text_range().split())
                   for i in range(len(pdf)))
    assert "".join(KHMER_COMMENT.split()) in text
    with desk.expect_navigation():
        desk.get_by_role("button", name=re.compile("policy feedback")).click()
    expect(desk.locator(".flash-success")).to_contain_text("waits for review")
    expect(desk.locator(".kicker").first).to_have_text("Policy feedback")
    expect(desk.locator(".consultations-panel")).to_contain_text("(the group's feedback)")
