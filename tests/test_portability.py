"""Behaviour that SQLite and PostgreSQL disagreed on, now the same on both (the suite runs this
file on each): case folding beyond ASCII, LIKE's special characters, lengths PostgreSQL
enforces, NUL bytes it refuses, numbers SQLite's driver cannot send."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kb.extensions import db
from kb.models import Objective, ResourceKind, Tag
from kb.services import accounts, glossary, vocabularies
from kb.services.errors import ValidationError
from tests.conftest import csrf_token, database_connection, run_kb, sign_in
from tests.factories import make_resource


# --- lower() folds every letter, as PostgreSQL's does (SQLite's folded only A-Z) -------------

def test_tags_that_differ_only_in_case_are_one_tag_beyond_ascii_too(make_user):
    editor = make_user("editor")
    first = make_resource(editor, tags="École, ឃុំ")
    second = make_resource(editor, tags="école")
    assert [t.id for t in second.tags] == [t.id for t in first.tags if t.name == "École"]
    assert sorted(db.session.scalars(select(Tag.name))) == ["École", "ឃុំ"]


def test_the_glossary_refuses_a_term_that_differs_only_in_case(make_user):
    admin = make_user("admin")
    glossary.save(admin, None, {"name_en": "Équipe communale"})
    with pytest.raises(ValidationError) as refused:
        glossary.save(admin, None, {"name_en": "équipe COMMUNALE"})
    assert refused.value.field == "name_en"


def test_organisations_are_found_whatever_the_case(make_user):
    admin = make_user("admin")
    vocabularies.save_organisation(admin, None, {"short_name": "ÉCOLE", "active": "1"})
    assert accounts.find_organisation("école").short_name == "ÉCOLE"
    with pytest.raises(ValidationError):
        vocabularies.save_organisation(admin, None, {"short_name": "École"})


# --- suggestions match %, _ and backslashes as typed -----------------------------------------

@pytest.mark.parametrize("typed, expected", [
    ("t 100%", ["Budget 100% guide"]),  # % was a wildcard: "Budget 1000 guide" came too
    ("10_0", []),  # _ was a wildcard
    ("t 10", ["Budget 1000 guide", "Budget 100% guide"]),
    ("a\\b", ["Folder a\\b notes"]),  # a backslash escaped the next character on PostgreSQL
    ("s\\", ["Notes\\ on shares"]),
])
def test_suggestions_match_what_was_typed_literally(client, make_user, typed, expected):
    editor = make_user("editor")
    for title in ("Budget 100% guide", "Budget 1000 guide", "Folder a\\b notes", "Folder ab notes",
                  "Notes\\ on shares"):
        make_resource(editor, publisher=editor, title=title)
    response = client.get("/search/suggest", query_string={"q": typed})
    assert response.status_code == 200
    titles = [s["text"] for s in response.get_json()["suggestions"] if s["type"] == "title"]
    assert sorted(titles) == sorted(expected)


# --- lengths: PostgreSQL refuses what does not fit, SQLite kept it ----------------------------

@pytest.mark.parametrize("model, field, limit", [
    (ResourceKind, "name_en", 200), (ResourceKind, "name_km", 200),
    (Objective, "short_en", 120), (Objective, "name_km", 500),
])
def test_renaming_a_term_beyond_its_column_is_refused_and_changes_nothing(
        make_user, model, field, limit):
    admin = make_user("admin")
    term = db.session.scalars(select(model).order_by(model.id)).first()
    before = {name: getattr(term, name) for name in ("name_en", "name_km")}
    data = {"name_en": "A new name", "name_km": term.name_km, field: "ក" * (limit + 1)}
    with pytest.raises(ValidationError) as refused:
        vocabularies.rename_term(admin, term, data)
    assert refused.value.field == field and str(limit) in str(refused.value.message)
    db.session.rollback()
    assert {name: getattr(term, name) for name in before} == before
    vocabularies.rename_term(admin, term, {**data, field: "ក" * limit})  # the limit itself fits
    assert getattr(db.session.get(model, term.id), field) == "ក" * limit


def test_the_vocabularies_page_says_a_name_is_too_long(client, make_user):
    sign_in(client, make_user("admin").email)
    kind = db.session.scalars(select(ResourceKind).order_by(ResourceKind.id)).first()
    name = kind.name_en
    response = client.post("/admin/vocabularies", data={
        "type": "kind", "id": kind.id, "name_en": "x" * 201, "name_km": "",
        "csrf_token": csrf_token(client, "/admin/vocabularies")})
    assert response.status_code == 400
    assert "A name is too long: at most 200 characters." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ResourceKind, kind.id).name_en == name
    client.get("/language/km")
    khmer = client.post("/admin/vocabularies", data={
        "type": "kind", "id": kind.id, "name_en": "x" * 201, "name_km": "",
        "csrf_token": csrf_token(client, "/admin/vocabularies")})
    assert khmer.status_code == 400 and "200" in khmer.get_data(as_text=True)
    assert "A name is too long" not in khmer.get_data(as_text=True)


# --- kb import: a manifest is a file, and files may hold anything -----------------------------

def _import(instance, folder):
    assert run_kb(instance, "users", "create", "a@example.org", "--name", "A", "--role", "admin",
                  "--password-stdin", input="long enough password\n").exit_code == 0
    return run_kb(instance, "import", str(folder), "--objective", "1", "--lang", "en")


def test_kb_import_reads_a_manifest_with_nul_bytes(instance, tmp_path):
    """PostgreSQL refuses NUL in text (in a query parameter too): the import stopped."""
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "note.txt").write_text("Kampong Cham commune practice", encoding="utf-8")
    (folder / "manifest.csv").write_text(
        "filename,title,kind,tags,org,commune_code\n"
        "note.txt,Note\x00 on D&D,policy_feedback,\"bud\x00get, NCDD\",CA\x00RD,0102\x0001\n",
        encoding="utf-8")
    result = _import(instance, folder)
    assert result.exit_code == 0 and "Imported: 1" in result.output, result.output
    with database_connection(instance) as connection:
        row = connection.execute(select(
            db.metadata.tables["resources"].c.title,
            db.metadata.tables["resources"].c.commune_code)).one()
        tags = connection.execute(select(db.metadata.tables["tags"].c.name)).scalars().all()
    assert tuple(row) == ("Note on D&D", "010201")
    assert sorted(tags) == ["NCDD", "budget"]


def test_kb_import_refuses_an_objective_no_column_holds_and_goes_on(instance, tmp_path):
    """SQLite's driver cannot send such a number (OverflowError): the import stopped."""
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "first.txt").write_text("Kampong Cham commune practice", encoding="utf-8")
    (folder / "second.txt").write_text("Takeo district planning", encoding="utf-8")
    (folder / "manifest.csv").write_text(
        "filename,objectives\nfirst.txt,99999999999999999999\nsecond.txt,2\n", encoding="utf-8")
    result = _import(instance, folder)
    assert "Imported: 1" in result.output and "Failed: 1" in result.output, result.output
    assert "Objectives are 1, 2 or 3." in result.output
    assert result.exit_code == 0


# --- rows with equal sort keys come in a fixed order, not as they happen to be stored ---------
# PostgreSQL moves a row when it is updated; SQLite keeps rows in id order whatever happens.

def test_the_users_page_lists_people_of_the_same_name_in_a_fixed_order(client, make_user):
    admin = make_user("admin")
    twins = [make_user("member", email=f"twin{n}@example.org") for n in range(3)]
    for twin in twins:
        twin.name = "Sok Chea"
    db.session.commit()
    sign_in(client, admin.email)
    changed = client.post(f"/admin/users/{twins[0].id}", data={
        "action": "role", "role": "contributor",
        "csrf_token": csrf_token(client, "/admin/users")})
    assert changed.status_code == 302
    page = client.get("/admin/users")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert [html.index(f"twin{n}@example.org") for n in range(3)] == sorted(
        html.index(f"twin{n}@example.org") for n in range(3))
