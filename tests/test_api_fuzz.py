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
import logging
import os
import zlib
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image

from kb.services import accounts, ingestion, workflow, workshops
from kb.services.ingestion import Upload
from tests.conftest import SHARED_DATA
from tests.factories import make_resource

EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "25"))
# KB_FUZZ_RANDOM=1: new random cases each run instead of the same ones (see the test).
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
    members = make_resource(contributor, publisher=editor, title="Members' notes",
                            visibility="members")
    submitted = make_resource(contributor, title="Awaiting review")
    workflow.submit(contributor, submitted)
    draft = make_resource(contributor, title="A draft")
    with_file = ingestion.contribute(contributor, {"kind": "meeting_record"}, [
        Upload("minutes.txt", io.BytesIO(b"Minutes of the commune council meeting."))],
        publish=False)
    packs = []
    for visibility in ("private", "members", "public"):
        pack = workshops.create_workshop(contributor, {"title": f"A {visibility} workshop",
                                                       "visibility": visibility})
        workshops.add_item(contributor, pack, published.id)
        packs.append(pack.id)
    known = {"resource_id": [r.id for r in (published, members, submitted, draft, with_file)],
             "file_id": [f.id for f in with_file.current_files],
             "workshop_id": packs, **_consultations(editor, people["member"])}
    return {"tokens": tokens, "known": known}


def _consultations(editor, member) -> dict[str, list[int]]:
    """An open public consultation with a response, a closed one (its submission can be
    compiled and stored) and a members-only one; their ids and their responses' ids."""
    from kb.services import consultations, responses
    from tests.consultations.conftest import (SHORT_DRAFT, days, open_consultation,
                                              publish_draft)

    draft = publish_draft(editor, SHORT_DRAFT)
    public = open_consultation(editor, draft)
    said = [responses.respond(member, public, {"text": "A comment on article 2",
                                               "section_id": public.sections[2].id,
                                               "on_behalf_of_org": True})]
    closed = open_consultation(editor, draft, title="Closed consultation")
    said.append(responses.respond(member, closed, {"text": "Before the deadline"}))
    consultations.update_consultation(editor, closed, {"opens": days(-9), "closes": days(-1)})
    members = open_consultation(editor, publish_draft(editor, SHORT_DRAFT + "\nMembers.",
                                                      visibility="members"),
                                visibility="members")
    return {"consultation_id": [public.id, closed.id, members.id],
            "response_id": [r.id for r in said]}


def _drawn(case, choices: list):
    """One of `choices`, chosen by the case's own content: the same case (as Hypothesis replays
    it while shrinking) always gets the same choice."""
    seed = zlib.crc32(repr((case.operation.label, case.path_parameters, case.query,
                            case.body if not isinstance(case.body, dict) else sorted(
                                (k, repr(v)[:200]) for k, v in case.body.items()))).encode())
    return choices[seed % len(choices)]


@pytest.fixture
def server_log(app):
    """KB_FUZZ_SERVER_LOG=path: the server's errors (tracebacks of any 500) go to that file,
    beside schemathesis's own report of the failing request."""
    path = os.environ.get("KB_FUZZ_SERVER_LOG")
    if not path:
        yield
        return
    handler = logging.FileHandler(path)
    handler.setLevel(logging.WARNING)
    app.logger.addHandler(handler)
    try:
        yield
    finally:
        app.logger.removeHandler(handler)
        handler.close()


@pytest.fixture
def api(app, population, server_log):
    config = schemathesis.Config.from_dict({
        # The document says text never holds NUL (refused with 400); JSON Schema cannot.
        "generation": {"allow-x00": False, "max-examples": EXAMPLES},
        # Coverage: boundary values, missing and wrong-typed fields, undocumented methods;
        # fuzzing: EXAMPLES generated requests, positive and negative, per operation.
        "phases": {"coverage": {"enabled": True}, "fuzzing": {"enabled": True},
                   "stateful": {"enabled": False}},
        # A multipart body carries text only: a "negative" value such as null or 5 arrives as
        # the text "null" or "5", which a text field rightly accepts. The check would report
        # the transport, not the API; every other check still runs on this operation.
        "operations": [{"include-name": "POST /resources",
                        "checks": {"negative_data_rejection": {"enabled": False}}}],
    })
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
# The same cases on every run (CI passes or fails as the last run here did); KB_FUZZ_RANDOM=1
# draws new ones, to look further.
@settings(deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=os.environ.get("KB_FUZZ_RANDOM") != "1")
def test_every_operation_conforms_to_its_document(case, population):
    """Each generated request is sent anonymously or with one role's token, and most ids in its
    path point at something that exists (random ids almost never do), so that the checks see
    real answers, not only 404s."""
    files = case.body.get("file") if isinstance(case.body, dict) else None
    if files is not None and not isinstance(files, list):
        # A file part drawn from MEDIA_TYPES replaces the whole `file` array with one file;
        # as a list again it is sent as a file part with a file name, as clients send files.
        case.body["file"] = [files]
    # A negative case must stay negative: an id made invalid on purpose is sent as made, and
    # a case whose headers were made invalid (such as a missing Authorization) is sent without
    # a real token. Schemathesis judges the answer by what it generated, not by what we send.
    meta = case.meta
    for name, value in list((case.path_parameters or {}).items()):
        known = population["known"].get(name)
        if meta is not None and meta.is_negative_at(ParameterLocation.PATH):
            break
        if known and isinstance(value, int) and not isinstance(value, bool):
            case.path_parameters[name] = _drawn(case, known + [value])
    body = case.body if isinstance(case.body, dict) else {}
    if (meta is None or not meta.is_negative_at(ParameterLocation.BODY)) \
            and isinstance(body.get("opens"), str) and isinstance(body.get("closes"), str):
        # The one rule JSON Schema cannot state (one date on or after another; the document
        # says it in words): a valid body gets its dates in order.
        body["opens"], body["closes"] = sorted((body["opens"], body["closes"]))
    role = _drawn(case, list(ROLES))
    if meta is not None and meta.is_negative_at(ParameterLocation.HEADER):
        role = None
    # Anonymous draws keep whatever credentials the generator made up (they must be refused);
    # the others are sent with that role's real token.
    headers = {"Authorization": f"Bearer {population['tokens'][role]}"} if role else {}
    # Schemathesis's WSGI transport hands the body over as sent, without undoing a compression
    # a real client would undo: ask for it uncompressed.
    headers["Accept-Encoding"] = "identity"
    response = case.call_and_validate(headers=headers)
    SENT[f"{case.operation.label} {response.status_code}"] += 1


@atexit.register
def _report() -> None:
    if os.environ.get("KB_FUZZ_REPORT") and SENT:
        Path(os.environ["KB_FUZZ_REPORT"]).write_text(json.dumps(dict(sorted(SENT.items())),
                                                                  indent=1))
