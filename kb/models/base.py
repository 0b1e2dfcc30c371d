"""Declarative base with a constraint naming convention, so migrations stay stable across databases."""
from datetime import datetime, timezone

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timestamps are stored in UTC, without tzinfo, so SQLite and PostgreSQL agree."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# Ids are integers the database can hold: PostgreSQL's integer is 32-bit (SQLite's is larger,
# and both must behave alike), so no id above this exists.
MAX_ID = 2**31 - 1


def valid_id(value) -> int | None:
    """`value` as an id that can exist, else None: a huge, negative, fractional or non-numeric
    id is simply not found, never an overflow in the database driver."""
    if isinstance(value, bool):
        return None
    if not isinstance(value, int):
        text = str(value if value is not None else "").strip()
        if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
            return None
        value = int(text)
    return value if 1 <= value <= MAX_ID else None
