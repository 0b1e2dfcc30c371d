"""One `kb init` at a time per database, however many processes or nodes start it.

Migrations are not safe to run twice at once (both would create the same tables), nor is
creating the search index; seeding is, but two first administrators are not wanted. So `kb init`
holds a lock for its whole run: on PostgreSQL an advisory lock, which every node sharing the
database sees and which the server releases if the process dies; on SQLite (one machine) a file
lock beside the database file, released by the system likewise. The second process waits, then
finds everything done and does nothing again.
"""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout
from sqlalchemy import text

from kb.extensions import db

# Advisory locks are named by a 64-bit number: this one's is fixed for the application.
ADVISORY_KEY = zlib.crc32(b"ddwg-kb: kb init")


@contextmanager
def setup_lock(instance_path: str, on_wait: Callable[[], None] = lambda: None):
    """Hold the database's setup lock for the block; `on_wait()` is called once if another
    process holds it (we then wait for it)."""
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        with _advisory_lock(on_wait):
            yield
        return
    database = url.database if url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).resolve()
        path = path.with_name(path.name + ".init-lock")
    else:
        path = Path(instance_path) / "init.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        on_wait()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(on_wait):
    # A connection of its own, outside any transaction: the lock belongs to this session and
    # lasts until it is unlocked (or the connection ends), whatever the other connections do.
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        key = {"key": ADVISORY_KEY}
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), key):
            on_wait()
            connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
