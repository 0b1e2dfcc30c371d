"""The crawl test: on a populated instance, as a visitor and as each role, in English and in
Khmer, every link is followed (a few pages of each URL shape) and every form found is submitted
as a browser would; nothing answers 500 and the server log holds no traceback."""
from __future__ import annotations

import io
import logging

import pytest

from kb.services import accounts, ingestion, workflow, workshops
from kb.services.ingestion import Upload
from tests.conftest import SHARED_DATA, sign_in
from tests.crawler import crawl
from tests.factories import make_resource

ROLES = ("visitor", "member", "contributor", "editor", "admin")
START = ["/", "/search?q=budget", "/search?q=%E1%9E%83%E1%9E%BB%E1%9F%86", "/browse",
         "/browse/new", "/organisations", "/workshops/", "/account", "/notifications",
         "/contribute", "/review", "/admin/", "/feeds/resources.atom",
         "/oai?verb=Identify", "/oai?verb=ListRecords&metadataPrefix=oai_dc", "/healthz"]
# Each identity must reach at least this many pages: a crawl that silently reached nothing
# (a broken sign-in, a redirect loop) would otherwise pass.
AT_LEAST = {"visitor": 25, "member": 35, "contributor": 45, "editor": 55, "admin": 60}


def populate(make_user) -> dict:
    """People of every role, resources in every state and visibility, files, workshops."""
    people = {role: make_user(role, org="CARD") for role in ROLES if role != "visitor"}
    editor, author = people["editor"], people["contributor"]
    accounts.request_to_join("newcomer@example.org", "A Newcomer", "long enough password",
                             org="COWS", message="I work on commune budgets.")
    public = make_resource(author, publisher=editor, title="Commune budget planning guide",
                           tags="budget, planning", org="CARD", commune_code="010201",
                           summary="How councils **plan** budgets.", kind="best_practice")
    make_resource(author, publisher=editor, title="តួនាទីរបស់ក្រុមប្រឹក្សាឃុំ",
                  language=["km"], visibility="members", objectives=["2", "3"])
    make_resource(author, title="An unfinished draft")
    sent = make_resource(author, title="Waiting for review")
    workflow.submit(author, sent)
    returned = make_resource(author, title="Returned for changes")
    workflow.submit(author, returned)
    workflow.review(editor, returned, "reject", "Please add sources.")
    archived = make_resource(author, publisher=editor, title="An archived report")
    workflow.unpublish(editor, archived, "Out of date.")
    with_files = ingestion.contribute(author, {"title": "Minutes with files",
                                               "kind": "meeting_record", "objectives": ["1"]}, [
        Upload("minutes.txt", io.BytesIO("Minutes: the sangkat discussed budgets.".encode())),
        Upload("trivial.pdf", io.BytesIO(
            (SHARED_DATA / "office-docs/pdf/002-trivial-libre-office-writer.pdf").read_bytes())),
    ], publish=False)
    workflow.submit(author, with_files)
    workflow.review(editor, with_files, "approve", "")
    for visibility in ("private", "members", "public"):
        pack = workshops.create_workshop(author, {
            "title": f"A {visibility} training day", "visibility": visibility,
            "date": "2024-06-01", "location": "Takeo"})
        for resource in (public, with_files):
            workshops.add_item(author, pack, resource.id, data={"note": "Discuss in groups."})
        if visibility == "public":
            workshops.create_share_link(author, pack)
    return people


@pytest.mark.parametrize("language", ["en", "km"])
@pytest.mark.parametrize("role", ROLES)
def test_every_page_and_form_answers_below_500_with_no_traceback(app, client, make_user, caplog,
                                                                  role, language):
    app.config["EXTRACTION_MODE"] = "inline"
    people = populate(make_user)
    if role != "visitor":
        assert sign_in(client, people[role].email).status_code == 302
    client.set_cookie(app.config["LANGUAGE_COOKIE"], language)
    home = client.get("/")
    assert home.status_code == 200 and f'lang="{language}"' in home.get_data(as_text=True)
    caplog.set_level(logging.WARNING)
    result = crawl(client, START, per_shape=2, max_pages=250)
    tracebacks = [record for record in caplog.records
                  if record.exc_info or record.levelno >= logging.ERROR]
    print(f"\n{role}/{language}: {result.pages} pages, {result.forms} forms, "
          f"statuses {dict(sorted(result.statuses.items()))}")
    assert not result.failures, "\n".join(result.failures)
    assert not tracebacks, "\n".join(caplog.text.splitlines()[:80])
    assert result.pages >= AT_LEAST[role], (result.pages, dict(result.statuses))
    assert result.forms >= (1 if role == "visitor" else 5), result.forms
