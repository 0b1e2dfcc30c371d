"""The JSON API fuzzed from its own OpenAPI document with schemathesis, every check on.

Each operation gets a populated instance (people of every role with tokens, resources in every
state, workshops of every visibility) and a bounded number of generated requests, positive and
negative, each sent anonymously and with each role's token. Every response must conform to the
document (status, content type, schema, headers), valid requests must be accepted, invalid ones
refused, and nothing may answer 500.
"""
from __future__ import annotations

import atexit
import io
import json
import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image

from kb.services import accounts, workflow, workshops
from tests.conftest import SHARED_DATA
from tests.factories import make_resource

EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "25"))
# KB_FUZZ_REPORT=path: the number of requests sent per operation and status, as JSON.
SENT: Counter = Counter()
ROLES = (None, "member", "contributor", "editor", "admin")
OFFICE = SHARED_DATA / "office-docs"


def _png(colour: tuple[int, int, int], size: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="PNG")
    return out.getvalue()


def _jpeg(colour: tuple[int, int, int], size: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="JPEG")
    return out.getvalue()


def _real(*names: str) -> list[bytes]:
    return [Path(OFFICE, name).read_bytes() for name in names if Path(OFFICE, name).exists()]


_words = st.text(st.characters(categories=("L", "N", "Zs")), min_size=1, max_size=200) \
    .filter(lambda text: text.strip())
_colour = st.tuples(*[st.integers(0, 255)] * 3)
# Uploads are checked from their bytes: the generator sends real files of the documented types
# (random ones are refused, as they should be, which would say nothing about the API).
MEDIA_TYPES = {
    "text/plain": _words.map(lambda text: text.encode("utf-8")),
    "text/markdown": _words.map(lambda text: f"# {text}\n\n{text}\n".encode("utf-8")),
    "text/html": _words.map(lambda text: f"<!doctype html><p>{text}</p>".encode("utf-8")),
    "image/png": st.builds(_png, _colour, st.integers(2, 40)),
    "image/jpeg": st.builds(_jpeg, _colour, st.integers(8, 40)),
    "application/pdf": st.sampled_from(_real("pdf/002-trivial-libre-office-writer.pdf",
                                             "pdf/google-doc-document.pdf")),
}
for media_type, strategy in MEDIA_TYPES.items():
    schemathesis.openapi.media_type(media_type, strategy)


@pytest.fixture
def population(app, make_user):
    """People of every role with tokens, and things for the generated ids to find."""
    app.config["EXTRACTION_MODE"] = "off"  # the API is under test here, not the extractors
    people = {role: make_user(role, org="CARD") for role in ROLES if role}
    tokens = {role: accounts.create_token(user) for role, user in people.items()}
    editor, contributor = people["editor"], people["contributor"]
    published = make_resource(contributor, publisher=editor, title="Commune budget guide",
                              tags="budget, planning")
    make_resource(contributor, publisher=editor, title="Members' notes", visibility="members")
    submitted = make_resource(contributor, title="Awaiting review")
    workflow.submit(contributor, submitted)
    make_resource(contributor, title="A draft")
    for visibility in ("private", "members", "public"):
        pack = workshops.create_workshop(contributor, {"title": f"A {visibility} workshop",
                                                       "visibility": visibility})
        workshops.add_item(contributor, pack, published.id)
    _consultations(editor, people["member"])
    return tokens


def _consultations(editor, member) -> None:
    """An open public consultation with a response, a closed one (its submission can be
    compiled) and a members-only one: the consultation operations' ids lead somewhere."""
    from kb.services import consultations, responses
    from tests.consultations.conftest import (SHORT_DRAFT, days, open_consultation,
                                              publish_draft)

    draft = publish_draft(editor, SHORT_DRAFT)
    public = open_consultation(editor, draft)
    responses.respond(member, public, {"text": "A comment on article 2",
                                       "section_id": public.sections[2].id,
                                       "on_behalf_of_org": True})
    closed = open_consultation(editor, draft, title="Closed consultation")
    responses.respond(member, closed, {"text": "Before the deadline"})
    consultations.update_consultation(editor, closed, {"opens": days(-9), "closes": days(-1)})
    open_consultation(editor, publish_draft(editor, SHORT_DRAFT + "\nMembers.",
                                            visibility="members"), visibility="members")


@pytest.fixture
def api(app, population):
    config = schemathesis.Config.from_dict({
        # The document says text never holds NUL (refused with 400); JSON Schema cannot.
        "generation": {"allow-x00": False, "max-examples": EXAMPLES},
        "phases": {"stateful": {"enabled": False}},
    })
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
@schema.given(role=st.sampled_from(ROLES))
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_its_document(case, role, population):
    """Each generated request is sent as one of the roles (or anonymously), drawn with it."""
    files = case.body.get("file") if isinstance(case.body, dict) else None
    if files is not None and not isinstance(files, list):
        # A file part drawn from MEDIA_TYPES replaces the whole `file` array with one file;
        # as a list again it is sent as a file part with a file name, as clients send files.
        case.body["file"] = [files]
    generated_auth = bool(case.headers and "Authorization" in case.headers)
    headers = {"Authorization": f"Bearer {population[role]}"} if role and not generated_auth \
        else {}
    response = case.call_and_validate(headers=headers)
    SENT[f"{case.operation.label} {response.status_code}"] += 1


@atexit.register
def _report() -> None:
    if os.environ.get("KB_FUZZ_REPORT") and SENT:
        Path(os.environ["KB_FUZZ_REPORT"]).write_text(json.dumps(dict(sorted(SENT.items())),
                                                                  indent=1))
