"""Several `kb init` processes at once on a fresh instance (one machine), or on several nodes
sharing one PostgreSQL database: every one succeeds and nothing is created twice (on main, the
second failed on a unique constraint)."""
from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, func, select

from kb.models import (Commune, District, GlossaryEntry, Objective, Organisation, Province,
                       ResourceKind, Role, User)
from kb.services import glossary, vocabularies
from tests.concurrency.conftest import KB_COMMAND

PROCESSES = 3
EXPECTED = {Objective: len(vocabularies.OBJECTIVES), ResourceKind: len(vocabularies.KINDS),
            Organisation: len(vocabularies.ORGANISATIONS), Province: 25, District: 210,
            Commune: 1661, GlossaryEntry: len(glossary.SEED)}


def start_init(instance: Path, database_url: str | None):
    env = {**os.environ, "KB_INSTANCE_PATH": str(instance)}
    if database_url:
        env["KB_SQLALCHEMY_DATABASE_URI"] = database_url
    return subprocess.Popen(KB_COMMAND + ["init", "--create-admin", "first@example.org"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def last_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "Error" in line] or stderr.splitlines()
    return lines[-1][:300] if lines else ""


def test_init_at_once(tmp_path, database_kind, empty_database):
    database = database_kind
    if database == "postgresql":
        # Nodes: each its own instance folder, one database; two processes share the first.
        url = empty_database.url
        instances = [tmp_path / f"node{n}" / "instance" for n in range(PROCESSES - 1)]
        instances.insert(0, instances[0])
    else:
        url = None
        instances = [tmp_path / "instance"] * PROCESSES
    processes = [start_init(instance, url) for instance in instances]
    outcomes = [(*p.communicate(timeout=600), p.returncode) for p in processes]
    outcomes = [(code, out, err) for out, err, code in outcomes]
    failed = [f"exit {code}: {last_error(err)}" for code, _out, err in outcomes if code]
    figures = (f"{PROCESSES} `kb init` at once on {database}: "
               f"{PROCESSES - len(failed)} succeeded, {len(failed)} failed {failed}")
    assert not failed, figures + "\n" + "\n".join(err for _c, _o, err in outcomes)
    created = sum("Created the first administrator" in out for _c, out, _e in outcomes)
    assert created == 1, figures
    # Each row was added by exactly one of them, and each says what it added itself.
    added = Counter()
    for _code, out, _err in outcomes:
        (line,) = [l for l in out.splitlines() if l.startswith("Vocabularies added: ")]
        for part in line.removeprefix("Vocabularies added: ").split(", "):
            name, number = part.rsplit(" ", 1)
            added[name] += int(number)
    assert added == {"objectives": 3, "kinds": 6, "organisations": 22, "provinces": 25,
                     "districts": 210, "communes": 1661,
                     "glossary terms": len(glossary.SEED)}, (figures, added)

    engine = create_engine(url or f"sqlite:///{instances[0] / 'kb.sqlite3'}")
    try:
        with engine.connect() as conn:
            counts = {model.__name__: conn.scalar(select(func.count()).select_from(model))
                      for model in EXPECTED}
            admins = conn.scalar(select(func.count()).select_from(User)
                                 .where(User.role == Role.ADMIN))
    finally:
        engine.dispose()
    assert counts == {model.__name__: n for model, n in EXPECTED.items()}, figures
    assert admins == 1, figures
    for instance in set(instances):
        if url:  # a shared database: the key is configured (KB_SECRET_KEY), never generated
            assert not (instance / "secret_key").exists(), instance
        else:
            key = (instance / "secret_key").read_text()
            assert len(key.strip()) == 64, f"{instance}: secret key {key!r}"
        check = subprocess.run(KB_COMMAND + ["check"], capture_output=True, text=True,
                               timeout=300, env={**os.environ,
                                                 "KB_INSTANCE_PATH": str(instance),
                                                 **({"KB_SQLALCHEMY_DATABASE_URI": url}
                                                    if url else {})})
        assert check.returncode == 0, check.stdout + check.stderr


def test_one_secret_key_when_many_start_at_once(tmp_path):
    """Processes starting together on a new instance all sign with the same key, and none
    reads a half-written file (tried on many new instances, the window being small)."""
    import threading

    from kb.config import SECRET_KEY_FILE, read_or_create_secret_key

    clients, rounds, problems = 8, 40, []
    for round_number in range(rounds):
        instance = tmp_path / f"instance{round_number}"
        barrier = threading.Barrier(clients)
        keys: list = [None] * clients

        def start(i):
            barrier.wait(timeout=30)
            try:
                keys[i] = read_or_create_secret_key(instance)
            except Exception as error:  # counted below
                keys[i] = error

        threads = [threading.Thread(target=start, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        stored = (instance / SECRET_KEY_FILE).read_text().strip()
        if len(stored) != 64 or keys != [stored] * clients:
            problems.append([k if isinstance(k, str) else repr(k) for k in keys])
        assert oct((instance / SECRET_KEY_FILE).stat().st_mode & 0o777) == "0o600"
        assert [p.name for p in instance.iterdir()] == [SECRET_KEY_FILE]  # no drafts left
    assert not problems, (f"{clients} starts at once x {rounds} new instances: "
                          f"{len(problems)} rounds where not all had the one key: {problems[:3]}")
