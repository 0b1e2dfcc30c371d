"""Writing rows that must stay right when several people act at once.

The database decides races, not the application: what must be unique has a unique index, a row
created on first use is inserted with "on conflict do nothing" and then read back (whoever
inserted it), and a change that renumbers a parent's children first takes the parent's row
lock. All of it is portable SQLAlchemy: SQLite and PostgreSQL behave the same.
"""
from __future__ import annotations

import sqlite3
import unicodedata

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from kb.extensions import db

# Well within both databases' limits on bound parameters per statement.
_ROWS_PER_STATEMENT = 500
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
# PostgreSQL's SQLSTATE for unique_violation; SQLite's extended result codes for the same.
_PG_UNIQUE = "23505"
_SQLITE_UNIQUE = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}


def folded(name: str) -> str:
    """The form in which two names are the same name: NFC, case-folded, single spaces. Computed
    here rather than with the database's lower(), which folds only ASCII on SQLite (and on
    PostgreSQL depends on the server's locale)."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def insert_missing(model, rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING: rows that clash with any unique index are skipped,
    including rows another transaction is inserting right now (PostgreSQL waits for it to end;
    SQLite has one writer at a time). No savepoint is needed, so the surrounding transaction
    goes on either way. Returns how many rows were inserted."""
    inserted = 0
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start:start + _ROWS_PER_STATEMENT]
        statement = (dialect_insert(model).values(chunk).on_conflict_do_nothing()
                     .execution_options(preserve_rowcount=True))  # INSERT's rowcount too
        inserted += db.session.execute(statement).rowcount
    return inserted


def dialect_insert(model):
    """This database's INSERT for `model`, which has on_conflict_do_nothing() and
    on_conflict_do_update() (SQLite and PostgreSQL spell them alike)."""
    dialect = db.session.get_bind().dialect.name
    insert = _INSERTS.get(dialect)
    if insert is None:
        raise NotImplementedError(f"no INSERT ... ON CONFLICT for {dialect}")
    return insert(model)


def get_or_create(model, key: dict, **values):
    """The row whose unique columns equal `key`, inserted (with `values`) if there is none yet:
    concurrent callers all get the same row, and none of them an error."""
    query = select(model).filter_by(**key)
    row = db.session.scalar(query)
    if row is None:
        insert_missing(model, [{**key, **values}])
        row = db.session.scalars(query).one()
    return row


def lock(model, row_id) -> bool:
    """Take the write lock on one row for the rest of the transaction (False if it is gone).

    An UPDATE that changes nothing: PostgreSQL locks the row until the commit, SQLite takes its
    database write lock. Call it before reading what the change depends on (a workshop's items,
    a resource's files); it expires the session so that those are read again, as they are now.
    """
    column = model.updated_at
    done = db.session.execute(update(model).where(model.id == row_id).values({column: column})
                              .execution_options(synchronize_session=False))
    db.session.expire_all()
    return done.rowcount == 1


def is_unique_violation(error: BaseException) -> bool:
    """Whether a database error is a unique index refusing a duplicate."""
    if not isinstance(error, IntegrityError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) == _PG_UNIQUE or \
            getattr(original, "pgcode", None) == _PG_UNIQUE:
        return True
    if isinstance(original, sqlite3.IntegrityError):
        name = getattr(original, "sqlite_errorname", "")
        return name in _SQLITE_UNIQUE or (not name and "UNIQUE constraint" in str(original))
    return False
