"""The same bytes sent by many clients at once are stored once: exactly one upload answers 201,
every other one the same 409 as a later upload of those bytes, and nothing a loser sent is left
half recorded (on main, four clients stored the same file three or four times)."""
from __future__ import annotations

import uuid
from io import BytesIO
from pathlib import Path

import requests
from sqlalchemy import select

from kb.extensions import db
from kb.ingest import storage
from kb.models import Resource, ResourceFile, Tag
from kb.services import filestore, ingestion
from tests.concurrency.conftest import (at_once, browser_session, form_token, sign_in, statuses,
                                        token_for)
from tests.factories import make_resource

CLIENTS = 6
ROUNDS = 4


def error_of(response) -> dict | None:
    try:
        return response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return None


def test_the_same_bytes_from_many_clients(app, server, make_user):
    run = uuid.uuid4().hex[:8]
    # Half the clients are one contributor (the winner's resource is theirs to see), half are
    # others (for them it is someone's draft): each loser must get what a later upload gets.
    owner = make_user("contributor")
    users = [owner if i % 2 == 0 else make_user("contributor") for i in range(CLIENTS)]
    tokens = [token_for(user) for user in users]
    report, bad = [], []
    for round_number in range(ROUNDS):
        body = f"the same minutes, round {round_number}, {run}\n".encode() * 50

        def upload(client, title=None):
            return requests.post(
                f"{server}/api/v1/resources", timeout=120,
                headers={"Authorization": f"Bearer {tokens[client]}"},
                data={"kind": "meeting_record",
                      "title": title or f"Minutes {run} {round_number} client {client}",
                      "tags": f"Losers leave no tag {run} {round_number} {client}"},
                files={"file": ("minutes.txt", body, "text/plain")})

        answers = at_once(CLIENTS, upload)
        counts = statuses(answers)
        report.append(dict(counts))
        if counts != {201: 1, 409: CLIENTS - 1}:
            bad.append(f"round {round_number}: {dict(counts)} "
                       + " | ".join(a.text[:160] for a in answers if hasattr(a, "text")
                                    and a.status_code not in (201, 409)))
            continue
        for client, answer in enumerate(answers):
            if answer.status_code == 409:
                later = upload(client, title=f"Later {run} {round_number} {client}")
                assert later.status_code == 409
                assert error_of(answer) == error_of(later), (client, answer.text, later.text)
                assert error_of(answer)["code"] == "conflict"
                assert error_of(answer)["field"] == "file"

        db.session.remove()
        rows = list(db.session.scalars(select(ResourceFile).where(
            ResourceFile.sha256 == answers_sha(answers))))
        assert len(rows) == 1, f"round {round_number}: {len(rows)} rows for one file"
        assert filestore.store().exists(storage.blob_key(rows[0].sha256))
        # The losers' resources, events and new tags were rolled back with them.
        titles = set(db.session.scalars(select(Resource.title).where(
            Resource.title.contains(f"{run} {round_number} "))))
        assert titles == {rows[0].resource.title}, titles
        tags = set(db.session.scalars(select(Tag.name).where(
            Tag.name.contains(f"{run} {round_number} "))))
        assert tags == {t.name for t in rows[0].resource.tags}, tags
    figures = f"{CLIENTS} clients x {ROUNDS} rounds of the same bytes: {report}"
    assert not bad, figures + "; " + "; ".join(bad)
    leftovers = list((Path(app.config["FILE_STORE_PATH"]) / "tmp").glob("upload-*"))
    assert not leftovers, f"received files left behind: {leftovers}"


def answers_sha(answers) -> str:
    (winner,) = [a for a in answers if a.status_code == 201]
    resource_id = winner.json()["id"]
    (stored,) = db.session.get(Resource, resource_id).files
    return stored.sha256


def test_new_versions_of_one_file_from_many_clients(app, server, make_user):
    """Editors on the resource page each upload a new version of one file at once: one becomes
    version 2, the others are told the file was replaced meanwhile; no version is lost and the
    resource keeps one current file."""
    editor = make_user("editor")
    resource = make_resource(editor, editor, title="Budget guide")
    ingestion.add_files(editor, resource, [ingestion.Upload("guide.txt", BytesIO(b"v1\n" * 40))])
    resource_id, (original_id,) = resource.id, [f.id for f in resource.current_files]
    emails = [make_user("editor").email for _ in range(CLIENTS)]
    sessions = [browser_session(server) for _ in range(CLIENTS)]
    for session, email in zip(sessions, emails):
        assert sign_in(session, server, email).status_code == 302
    page = f"{server}/resources/{resource_id}"
    tokens = [form_token(session, page) for session in sessions]

    def upload(i):
        return sessions[i].post(
            f"{server}/files/{original_id}/versions", timeout=120, allow_redirects=False,
            data={"csrf_token": tokens[i], "note": f"client {i}"},
            files={"file": ("guide.txt", f"v2 by client {i}\n".encode() * 40, "text/plain")})

    answers = at_once(CLIENTS, upload)
    counts = statuses(answers)
    figures = f"{CLIENTS} new versions of one file at once: {dict(counts)}"
    assert counts == {302: CLIENTS}, figures
    db.session.remove()
    files = list(db.session.scalars(select(ResourceFile).where(
        ResourceFile.resource_id == resource_id)))
    assert sorted(f.version for f in files) == [1, 2], (figures, [(f.id, f.version) for f in files])
    current = [f for f in files if f.replaced_by_id is None]
    assert len(current) == 1 and current[0].version == 2, figures
    refused = 0
    for session in sessions:
        shown = session.get(page, timeout=60)
        assert shown.status_code == 200
        refused += "Only the newest version of a file can be replaced." in shown.text
    assert refused == CLIENTS - 1, figures


def test_kb_import_while_clients_upload_the_same_files(app, server, make_user, tmp_path):
    """`kb import` of a folder while clients send the same files through the API: each file is
    stored once, the import counts the others as already present, nobody gets an error."""
    import os
    import random
    import subprocess

    from tests.concurrency.conftest import KB_COMMAND

    folder = tmp_path / "shared-drive"
    folder.mkdir()
    contents = {f"report-{n:02d}.txt": f"Commune report {n}\n".encode() * (20 + n)
                for n in range(24)}
    for name, body in contents.items():
        (folder / name).write_bytes(body)
    importer = make_user("editor")
    tokens = [token_for(make_user("contributor")) for _ in range(3)]
    env = {**os.environ, "KB_INSTANCE_PATH": app.instance_path,
           "KB_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    command = KB_COMMAND + ["import", str(folder), "--as", importer.email, "--kind",
                            "meeting_record"]

    def client(i):
        if i == len(tokens):  # the last "client" is the import
            return subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=600)
        names = list(contents)
        random.Random(i).shuffle(names)
        return [requests.post(f"{server}/api/v1/resources", timeout=120,
                              headers={"Authorization": f"Bearer {tokens[i]}"},
                              data={"kind": "meeting_record"},
                              files={"file": (name, contents[name], "text/plain")})
                for name in names]

    *uploads, imported = at_once(len(tokens) + 1, client)
    answers = [answer for client_answers in uploads for answer in client_answers]
    counts = statuses(answers)
    summary = dict(line.split(": ", 1) for line in imported.stdout.splitlines()
                   if line.split(": ", 1)[0] in ("Imported", "Already present", "Failed"))
    figures = (f"kb import of {len(contents)} files with {len(tokens)} clients sending them "
               f"too: uploads {dict(counts)}, import {summary}")
    assert imported.returncode == 0, figures + imported.stderr[-2000:]
    assert set(counts) <= {201, 409}, figures
    assert summary["Failed"] == "0", figures
    assert counts[201] + int(summary["Imported"]) == len(contents), figures
    db.session.remove()
    rows = list(db.session.scalars(select(ResourceFile.sha256)))
    assert len(rows) == len(set(rows)) == len(contents), figures
