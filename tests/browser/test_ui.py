"""The knowledge base in a real browser: signing in and out, Khmer, joining, phones, CSRF."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kb.models import AccountStatus
from kb.services import accounts, vocabularies
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

KHMER = re.compile(r"[\u1780-\u17FF]")
KHMER_FONT = "/static/fonts/noto-sans-khmer-khmer-400-normal.woff2"
SIGNIN_ERROR = "The e-mail address or password is not correct."
CSRF_ERROR = "The form had expired or was not sent from this site."


def main_nav(page):
    return page.locator("nav.menu")


def open_account_menu(page):
    """The signed-in reader's own pages are folded into the "Account" menu of the header."""
    menu = main_nav(page).locator("details.account-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    return menu


def sign_in_through_form(page, email: str, password: str = PASSWORD):
    """Open the sign-in page from the header link and submit the real form."""
    page.goto("/")
    main_nav(page).get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/signin"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("main form").get_by_role("button", name="Sign in").click()


def expect_signed_out(page):
    nav = main_nav(page)
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    expect(nav.get_by_role("link", name="My account")).to_have_count(0)
    expect(nav.get_by_role("button", name="Sign out")).to_have_count(0)
    response = page.goto("/account")
    assert response is not None and response.ok
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Faccount"))  # sent to sign in


# 1 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["member", "contributor", "editor", "admin"])
def test_every_role_signs_in_and_out_through_the_form(page, live_user, role):
    user = live_user(role, name=f"Tester {role.title()} Sok")
    sign_in_through_form(page, user.email)

    expect(page.locator(".flash-success")).to_have_text(f"Welcome, {user.name}.")
    nav = main_nav(page)
    open_account_menu(page)
    expect(nav.get_by_role("link", name="My account")).to_be_visible()
    admin_link = nav.get_by_role("link", name="Administration")
    if role == "admin":
        expect(admin_link).to_be_visible()
    else:
        expect(admin_link).to_have_count(0)
    # The session cookie is Secure (the default), and Chromium keeps it on http://127.0.0.1.
    session = [c for c in page.context.cookies() if c["name"] == "kb_session"]
    assert session and session[0]["secure"] and session[0]["httpOnly"]

    nav.get_by_role("link", name="My account").click()
    expect(page.locator("h1")).to_have_text("My account")
    expect(page.locator("main")).to_contain_text(user.email)

    open_account_menu(page)
    with page.expect_navigation():
        nav.get_by_role("button", name="Sign out").click()
    expect(page.locator(".flash-info")).to_have_text("You have signed out.")
    expect_signed_out(page)


# 2 -----------------------------------------------------------------------------------------

def test_wrong_password_shows_the_error_and_stays_signed_out(page, pages, live_user):
    pages.allow(r"status of 401")  # the refused sign-in answers 401, which Chromium logs
    user = live_user("editor")
    page.goto("/signin")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill("not the right password")
    with page.expect_response(lambda r: r.url.endswith("/signin")
                              and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text(SIGNIN_ERROR)
    expect(page.locator("#email")).to_have_value(user.email)
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator(".flash-success")).to_have_count(0)
    expect_signed_out(page)


# 3 -----------------------------------------------------------------------------------------

def switch_to_khmer(page):
    page.locator("nav.languages").get_by_role("link", name="ខ្មែរ").click()
    expect(page.locator("html")).to_have_attribute("lang", "km")


def test_switching_to_khmer_shows_khmer_and_is_remembered(page, live_app):
    with live_app.app_context():
        objectives = [(o.short_en, o.short_km) for o in vocabularies.objectives()]
    assert len(objectives) == 3 and objectives[0][1] == "ការយល់ដឹង"

    font_responses = []
    page.on("response", lambda r: font_responses.append(r.status)
            if r.url.endswith(KHMER_FONT) else None)

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    titles = page.locator(".objectives h3")
    expect(titles).to_have_text([en for en, _ in objectives])

    switch_to_khmer(page)
    expect(page).to_have_url(re.compile(r"/(\?)?$"))  # back on the home page
    expect(page.locator("body")).to_have_class(re.compile(r"\blang-km\b"))
    expect(titles).to_have_text([km for _, km in objectives])
    expect(page.locator("nav.languages .current")).to_have_text("ខ្មែរ")

    # The Khmer glyphs are drawn with the bundled web font, not a fallback or tofu boxes.
    loaded = page.evaluate("""async () => {
        await document.fonts.ready;
        return {
            check: document.fonts.check('16px "Noto Sans Khmer"', 'ក'),
            loaded: [...document.fonts].filter(f => f.family.replace(/"/g, '') === 'Noto Sans Khmer'
                                                 && f.status === 'loaded').length,
        };
    }""")
    assert loaded["check"] and loaded["loaded"] >= 1, loaded
    assert 200 in font_responses, f"Khmer font responses: {font_responses}"
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    title = cdp.send("DOM.querySelector", {"nodeId": root, "selector": ".objectives h3"})
    used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": title["nodeId"]})["fonts"]
    assert any(f["familyName"] == "Noto Sans Khmer" and f["isCustomFont"] and f["glyphCount"] > 0
               for f in used), f"fonts used for the first objective: {used}"
    cdp.detach()

    # Remembered on the next page load.
    response = page.goto("/organisations")
    assert response is not None and response.ok
    expect(page.locator("html")).to_have_attribute("lang", "km")
    language_cookie = [c for c in page.context.cookies() if c["name"] == "kb_lang"]
    assert language_cookie and language_cookie[0]["value"] == "km"


def test_khmer_interface_text_comes_from_the_catalogue(page):
    """Needs the Khmer message catalogue (kb/translations/km): the header speaks Khmer."""
    page.goto("/")
    switch_to_khmer(page)
    nav_text = main_nav(page).inner_text()
    assert KHMER.search(nav_text), f"the navigation is not in Khmer: {nav_text!r}"
    assert "Sign in" not in nav_text and "Organisations" not in nav_text, nav_text
    page.goto("/organisations")
    assert KHMER.search(main_nav(page).inner_text())


# 4 -----------------------------------------------------------------------------------------

def test_join_approve_and_sign_in(pages, live_app, live_user):
    pages.allow(r"status of 403")  # the pending account's refused sign-in
    admin = live_user("admin", name="Admin Chenda")
    email, name, password = "sophea.kim@example.org", "Sophea Kim", "a long enough secret"

    visitor = pages.new()
    visitor.goto("/")
    main_nav(visitor).get_by_role("link", name="Join").click()
    expect(visitor.locator("h1")).to_have_text("Ask to join the working group")
    visitor.locator("#name").fill(name)
    visitor.locator("#email").fill(email)
    visitor.locator("#password").fill(password)
    organisation = visitor.locator("#org option").nth(1).get_attribute("value")
    assert organisation
    visitor.locator("#org").select_option(organisation)
    visitor.locator("#message").fill("Commune council monitoring in Kampong Cham.")
    visitor.get_by_role("button", name="Send my request").click()
    expect(visitor.locator("h1")).to_have_text("Thank you")

    # Not yet: the request waits for an administrator.
    sign_in_through_form(visitor, email, password)
    expect(visitor.get_by_role("alert")).to_contain_text(
        "Your request to join is waiting for an administrator's approval.")

    desk = pages.new()
    sign_in_through_form(desk, admin.email)
    expect(desk.locator(".flash-success")).to_have_text(f"Welcome, {admin.name}.")
    main_nav(desk).get_by_role("link", name="Administration").click()
    desk.locator("nav.subnav").get_by_role("link", name="People").click()
    expect(desk.locator("h1")).to_have_text("People")
    row = desk.locator(f'tr[data-email="{email}"]')
    expect(row).to_have_class(re.compile(r"\buser-pending\b"))
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("Commune council monitoring in Kampong Cham.")
    expect(row).to_contain_text(organisation)
    row.locator("select[name=role]").select_option("contributor")
    with desk.expect_navigation():
        row.get_by_role("button", name="Approve").click()
    expect(desk.locator(".flash-success")).to_have_text(f"{name} can now sign in.")
    expect(row).to_have_class(re.compile(r"\buser-active\b"))
    expect(row.locator("select[name=role]")).to_have_value("contributor")

    with live_app.app_context():
        user = accounts.get_user_by_email(email)
        assert user.status == AccountStatus.ACTIVE and user.role.value == "contributor"

    newcomer = pages.new()
    sign_in_through_form(newcomer, email, password)
    expect(newcomer.locator(".flash-success")).to_have_text(f"Welcome, {name}.")
    nav = main_nav(newcomer)
    open_account_menu(newcomer)
    expect(nav.get_by_role("link", name="My account")).to_be_visible()
    expect(nav.get_by_role("link", name="Add a resource")).to_be_visible()  # a contributor
    expect(nav.get_by_role("link", name="Administration")).to_have_count(0)


# 5 -----------------------------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}
OVERFLOW_JS = """(viewport) => {
    const wide = [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > viewport + 0.5)
        .slice(0, 8)
        .map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).trim()
              .replace(/\\s+/g, '.') : '') + ' ' + Math.round(e.getBoundingClientRect().right));
    return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
            wide};
}"""


@pytest.mark.parametrize("language", ["en", "km"])
def test_home_page_fits_a_phone(pages, language):
    phone = pages.new(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    phone.goto("/")
    if language == "km":
        switch_to_khmer(phone)
    expect(phone.locator("html")).to_have_attribute("lang", language)
    phone.evaluate("async () => { await document.fonts.ready; }")
    width = phone.evaluate(OVERFLOW_JS, PHONE["width"])
    # A mobile browser zooms out to show content wider than the screen: innerWidth then grows.
    assert width["innerWidth"] == PHONE["width"], f"zoomed out to fit wide content: {width}"
    assert width["scrollWidth"] <= width["innerWidth"], f"horizontal overflow: {width}"


# 6 -----------------------------------------------------------------------------------------

def test_a_form_without_its_csrf_token_is_refused(page, pages, live_user):
    pages.allow(r"status of 400")  # the refused form answers 400, which Chromium logs
    user = live_user("admin")
    page.goto("/signin")
    token = page.locator('main form input[name="csrf_token"]')
    expect(token).to_have_count(1)
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(PASSWORD)
    page.evaluate("""() => document.querySelector('main form input[name="csrf_token"]').remove()""")
    expect(token).to_have_count(0)
    with page.expect_response(lambda r: r.url.endswith("/signin")
                              and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 400
    expect(page.locator("h1")).to_have_text("400")
    expect(page.locator("main")).to_contain_text(CSRF_ERROR)
    expect(page.locator(".flash-success")).to_have_count(0)
    expect_signed_out(page)


# Site icon -----------------------------------------------------------------------------------

def test_the_site_icon_loads(page):
    page.goto("/")
    icon = page.locator('link[rel~="icon"]')
    href = icon.first.get_attribute("href") if icon.count() else "/favicon.ico"
    if href.startswith("data:"):
        return
    response = page.request.get(href)
    assert response.status == 200, f"{href}: {response.status}"
