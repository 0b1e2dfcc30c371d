"""Every key page is valid HTML by the Nu HTML Checker, as each role that can reach it, in English
and in Khmer: the search page with its quoted placeholder, cards with previews and file-type
cards, the review badge, dates in <time>, the dashboard's charts and activity."""
from __future__ import annotations

import io

import pytest

from kb.services import accounts, ingestion, processing, workflow, workshops
from tests.conftest import SHARED_DATA, sign_in
from tests.factories import make_resource
from tests.htmlcheck import Checker

OFFICE = SHARED_DATA / "office-docs"
ROLES = ["anonymous", "member", "contributor", "editor", "admin"]


@pytest.fixture(scope="session")
def html_checker():
    checker = Checker()
    yield checker
    checker.close()


@pytest.fixture
def site(app, make_user):
    """One person per role and the things the key pages show."""
    app.config["EXTRACTION_MODE"] = "inline"
    people = {role: make_user(role) for role in ROLES[1:]}
    editor, trainer = people["editor"], people["contributor"]
    with (OFFICE / "docx" / "test.docx").open("rb") as handle:  # a blank preview: a type card
        word = ingestion.contribute(editor, {
            "title": "Commune council minutes template", "kind": "training_material",
            "objectives": ["1"], "language": ["en"], "summary": "A *Word* template."},
            [ingestion.Upload("minutes.docx", handle)], publish=True, process=False)
    with (OFFICE / "pdf" / "pdflatex-4-pages.pdf").open("rb") as handle:
        pdf = ingestion.contribute(editor, {
            "title": "ផែនការអភិវឌ្ឍឃុំ", "alt_title": "Commune development plan",
            "kind": "reform_document", "objectives": ["2"], "language": ["km"],
            "date": "2021-05-01"}, [ingestion.Upload("plan.pdf", handle)], publish=True,
            process=False)
    for resource in (word, pdf):
        for stored in resource.current_files:
            processing.process_file(stored.id)
    long_title = make_resource(editor, publisher=editor, title="Decentralisation" * 5,
                               tags="Deconcentration" * 4, authors=["Sok Dara"],
                               date="2019-01-01")
    waiting = make_resource(trainer, title="Commune water committee by-laws",
                            kind="best_practice")
    workflow.submit(trainer, waiting)
    ingestion.contribute(trainer, {"title": "Notes", "kind": "meeting_record",
                                   "objectives": ["3"]},
                         [ingestion.Upload("notes.txt", io.BytesIO(b"Commune notes"))])
    accounts.request_to_join("joiner@example.org", "Someone Joining", "long enough password")
    workshop = workshops.create_workshop(trainer, {
        "title": "Commune budget workshop", "date": "2026-03-02", "language": "en",
        "visibility": "members", "description": "Two days on *budgets*."})
    for resource in (word, pdf, long_title):
        workshops.add_item(trainer, workshop, resource.id, {"start_time": "14:30",
                                                           "duration_minutes": "45"})
    return {"people": people, "word": word.id, "pdf": pdf.id, "long": long_title.id,
            "waiting": waiting.id, "workshop": workshop.id}


def pages_for(role: str, ids: dict) -> list[str]:
    pages = ["/", "/search?q=commune", "/search?q=commune&objective=1", "/browse", "/new",
             "/objectives/1", "/kinds/reform_document", "/organisations",
             f"/resources/{ids['word']}", f"/resources/{ids['pdf']}",
             f"/resources/{ids['long']}", "/places"]
    if role == "anonymous":
        pages += ["/signin", "/join"]
    else:
        pages += ["/account", "/notifications"]
    if role in ("contributor", "editor", "admin"):
        pages += ["/contribute", "/workshops/"]
    if role == "contributor":
        pages += [f"/workshops/{ids['workshop']}", f"/workshops/{ids['workshop']}/print",
                  f"/resources/{ids['waiting']}", f"/resources/{ids['waiting']}/edit"]
    if role in ("editor", "admin"):
        pages += ["/review", f"/resources/{ids['waiting']}"]
    if role == "admin":
        pages += ["/admin/", "/admin/users", "/admin/organisations", "/admin/vocabularies",
                  "/admin/glossary"]
    return pages


@pytest.mark.parametrize("role", ROLES)
def test_key_pages_are_valid_html_in_both_languages(app, site, html_checker, role):
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, site["people"][role].email)
    problems = []
    for language in ("en", "km"):
        client.set_cookie("kb_lang", language)
        for path in pages_for(role, site):
            response = client.get(path)
            assert response.status_code == 200, f"{path} ({language}): {response.status_code}"
            html = response.get_data(as_text=True)
            expected = "en" if path.endswith("/print") else language  # the workshop's own
            assert f'<html lang="{expected}">' in html, path
            problems += [f"{path} ({language}) {p}" for p in html_checker.check(response.data)]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_what_the_issue_found(html_checker):
    """The checker itself: the faults these pages had are errors to it."""
    faults = {
        "placeholder": '<input placeholder="Words, "a phrase", -exclude">',
        "aria-label on a span": '<span class="count" aria-label="3 waiting">3</span>',
        "six-digit fractions": '<time datetime="2026-12-01T09:02:54.509991Z">today</time>',
    }
    for name, fault in faults.items():
        page = f"<!doctype html><html lang=en><title>x</title><p>{fault}</p></html>"
        assert html_checker.check(page.encode()), name
