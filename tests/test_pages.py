"""Pages for readers and administrators, in English and Khmer."""
import re

import pytest

from kb.extensions import db
from kb.models import AuditEvent, Objective, Organisation
from tests.conftest import csrf_token, sign_in
from tests.factories import make_resource

KHMER = re.compile(r"[\u1780-\u17FF]")


def test_home_page_says_what_the_group_is(client, make_user):
    editor = make_user("editor")
    make_resource(editor, publisher=editor, title="Sub-decree on commune finance")
    make_resource(editor, title="Unpublished draft")
    page = client.get("/").get_data(as_text=True)
    assert "Decentralization and Deconcentration Reform Working Group" in page
    for number, text in ((1, "awareness and understanding of the D&amp;D reform"),
                         (2, "influence government decisions"),
                         (3, "transparent and accountable sub-national")):
        assert text in page, number
    assert "Sub-decree on commune finance" in page
    assert "Unpublished draft" not in page
    for org in ("COWS", "Pact Cambodia", "Oxfam GB", "Banteay Srey"):
        assert org in page


def test_security_headers_and_no_external_assets(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    css = client.get("/static/css/kb.css").get_data(as_text=True)
    assert "http" not in css and "noto-sans-khmer-khmer-400-normal.woff2" in css
    font = client.get("/static/fonts/noto-sans-khmer-khmer-400-normal.woff2")
    assert font.status_code == 200 and font.data[:4] == b"wOF2"


def test_language_switch_is_remembered(client):
    response = client.get("/language/km?next=/organisations")
    assert response.status_code == 302 and response.headers["Location"] == "/organisations"
    assert "kb_lang=km" in response.headers["Set-Cookie"]
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="km">' in page
    nav = re.search(r'<nav class="menu".*?</nav>', page, re.S).group(0)
    assert KHMER.search(nav), "the navigation is not translated"
    objective = db.session.scalar(db.select(Objective).where(Objective.number == 1))
    assert objective.name_km in page
    assert client.get("/language/xx?next=/").status_code == 302  # ignored, not an error
    assert '<html lang="km">' in client.get("/").get_data(as_text=True)
    client.get("/language/en")
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_browser_language_is_the_default(client):
    page = client.get("/", headers={"Accept-Language": "km-KH,km;q=0.9,en;q=0.5"})
    assert '<html lang="km">' in page.get_data(as_text=True)


def test_language_switch_does_not_redirect_off_site(client):
    response = client.get("/language/km?next=https://evil.example/")
    assert response.headers["Location"] == "/"


def test_organisations_directory(client):
    page = client.get("/organisations").get_data(as_text=True)
    assert page.count('class="card" id="org-') == 22


def test_resource_page_respects_access(client, make_user):
    owner, editor = make_user("contributor"), make_user("editor")
    public = make_resource(owner, publisher=editor, title="Public analysis",
                           summary="See <a href='javascript:alert(1)'>this</a> **now**",
                           authors=["Sok Dara", "Chan Sophea"], commune_code="010201")
    members = make_resource(owner, publisher=editor, title="Members analysis",
                            visibility="members")
    draft = make_resource(owner, title="Draft analysis")
    page = client.get(f"/resources/{public.id}").get_data(as_text=True)
    assert "Public analysis" in page and "Sok Dara, Chan Sophea" in page
    assert "javascript:" not in page and "<strong>now</strong>" in page
    assert "Banteay Neang" in page
    assert client.get(f"/resources/{members.id}").status_code == 404
    assert client.get(f"/resources/{draft.id}").status_code == 404
    sign_in(client, make_user("member").email)
    assert client.get(f"/resources/{members.id}").status_code == 200
    assert client.get(f"/resources/{draft.id}").status_code == 404


def test_resource_page_in_khmer_names_places_in_khmer(client, make_user):
    editor = make_user("editor")
    resource = make_resource(editor, publisher=editor, commune_code="010201")
    client.get("/language/km")
    page = client.get(f"/resources/{resource.id}").get_data(as_text=True)
    assert "បន្ទាយនាង" in page and "ឯកសារកំណែទម្រង់" in page


@pytest.mark.parametrize("role", [None, "member", "contributor", "editor"])
def test_admin_pages_are_for_admins_only(client, make_user, role):
    if role:
        sign_in(client, make_user(role).email)
    for path in ("/admin/", "/admin/users", "/admin/organisations", "/admin/vocabularies",
                 "/admin/users/new"):
        response = client.get(path)
        assert response.status_code == (302 if role is None else 403), path


def test_admin_edits_organisations_and_vocabularies(client, make_user):
    sign_in(client, make_user("admin").email)
    token = csrf_token(client, "/admin/organisations/new")
    response = client.post("/admin/organisations/new", data={
        "short_name": "NGOF", "name_en": "NGO Forum on Cambodia", "name_km": "វេទិកាអង្គការមិនមែនរដ្ឋាភិបាល",
        "website": "https://ngoforum.org.kh", "active": "1", "csrf_token": token})
    assert response.status_code == 302
    assert "NGO Forum on Cambodia" in client.get("/organisations").get_data(as_text=True)
    duplicate = client.post("/admin/organisations/new", data={
        "short_name": "ngof", "csrf_token": token})
    assert duplicate.status_code == 400
    assert "Another organisation has this short name." in duplicate.get_data(as_text=True)

    cows = db.session.scalar(db.select(Organisation).where(Organisation.short_name == "COWS"))
    client.post(f"/admin/organisations/{cows.id}", data={
        "short_name": "COWS", "name_en": "COWS", "csrf_token": token})  # unticked: not listed
    assert 'id="org-%d"' % cows.id not in client.get("/organisations").get_data(as_text=True)

    objective = db.session.scalar(db.select(Objective).where(Objective.number == 2))
    client.post("/admin/vocabularies", data={
        "type": "objective", "id": objective.id, "name_en": "Influence on D&D decisions",
        "name_km": objective.name_km, "short_en": "Influence", "short_km": "ឥទ្ធិពល",
        "csrf_token": token})
    assert "Influence on D&amp;D decisions" in client.get("/").get_data(as_text=True)
    empty = client.post("/admin/vocabularies", data={
        "type": "objective", "id": objective.id, "name_en": "", "csrf_token": token})
    assert empty.status_code == 400
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"organisation.save", "vocabulary.rename"} <= actions


def test_admin_creates_sets_role_and_deactivates(client, make_user):
    admin = make_user("admin")
    sign_in(client, admin.email)
    token = csrf_token(client, "/admin/users/new")
    client.post("/admin/users/new", data={"email": "c@example.org", "name": "Contributor C",
                                          "password": "long enough password",
                                          "role": "contributor", "csrf_token": token})
    from kb.services.accounts import get_user_by_email
    person = get_user_by_email("c@example.org")
    assert person.role.value == "contributor"
    client.post(f"/admin/users/{person.id}", data={"action": "role", "role": "editor",
                                                   "csrf_token": token})
    assert person.role.value == "editor"
    client.post(f"/admin/users/{person.id}", data={"action": "deactivate", "csrf_token": token})
    assert person.status.value == "deactivated"
    own = client.post(f"/admin/users/{admin.id}", data={"action": "role", "role": "member",
                                                        "csrf_token": token},
                      follow_redirects=True)
    assert "You cannot remove your own administrator role." in own.get_data(as_text=True)
    assert admin.role.value == "admin"


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "This page does not exist" in response.get_data(as_text=True)
