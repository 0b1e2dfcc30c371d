"""Helpers shared by the benchmarks: where the shared data live, and a throw-away instance of
the application filled through the same services the web interface and the API use.

    with temporary_instance() as app:          # `kb init` in a temporary folder, app context on
        editor = create_editor()
        ids = publish_all(editor, [{"title": ..., "summary": ..., ...}, ...])
        ...                                      # search with kb.services.search.run(...)
"""
from __future__ import annotations

import os
import secrets
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from flask import Flask  # noqa: E402

from kb import create_app  # noqa: E402
from kb.cli import init_command  # noqa: E402
from kb.models import Role, User  # noqa: E402
from kb.services import accounts, indexing, resources, workflow  # noqa: E402

# Storage settings forced to their defaults inside the instance folder, whatever KB_* variables
# or an instance config say: a benchmark must never write to a real database or index.
_LOCAL_STORAGE = {"SQLALCHEMY_DATABASE_URI": None, "SEARCH_INDEX_PATH": None,
                  "FILE_STORE_PATH": None, "FILE_STORE_URL": None, "THUMBNAIL_PATH": None}


def shared_data() -> Path:
    """The shared data folder (a sibling of the project folder), or KB_SHARED_DATA."""
    return Path(os.environ.get("KB_SHARED_DATA")
                or Path(__file__).resolve().parents[1].parent / "shared" / "data")


@contextmanager
def temporary_instance(prefix: str = "kb-benchmark-") -> Iterator[Flask]:
    """A new instance in a temporary folder, set up by `kb init`; yields the application with
    an application context pushed. The folder is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        app = create_app(config=dict(_LOCAL_STORAGE), instance_path=folder)
        outcome = app.test_cli_runner().invoke(init_command)
        if outcome.exit_code != 0:
            raise RuntimeError(f"kb init failed:\n{outcome.output}") from outcome.exception
        with app.app_context():
            yield app


def create_editor(email: str = "benchmark@example.org") -> User:
    """An editor account (editors may publish), with a random password."""
    return accounts.create_user(email, "Benchmark editor", Role.EDITOR,
                                password=secrets.token_urlsafe(16))


def publish_all(editor: User, records: Iterable[dict]) -> list[int]:
    """Create and publish one resource per record (data as `create_resource` takes it), then
    build the search index once. Returns the resource ids, in the records' order."""
    ids = []
    with indexing.deferred():  # one index build at the end, not one write per commit
        for data in records:
            resource = resources.create_resource(editor, data)
            workflow.publish(editor, resource)
            ids.append(resource.id)
    indexing.reindex()
    return ids
