"""The change log that keeps every node's search index in step with the database.

Every change to what the index holds appends an entry, in the same transaction as the change;
each node applies the entries it has not applied yet to its own index (its own at once, other
nodes' by polling). Sequence numbers only grow (AUTOINCREMENT on SQLite, a sequence on
PostgreSQL), but on PostgreSQL they are handed out before commit, so an entry may become
visible after a later one: a node therefore remembers which entries above its contiguous
"applied through" point it has applied, and waits a while for a missing one before passing it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kb.models.base import Base, utcnow

# BIGINT on PostgreSQL (the log outgrows 2**31 entries long before resources do); SQLite's
# INTEGER PRIMARY KEY is 64-bit already and must stay exactly that type to be the rowid.
SEQUENCE = BigInteger().with_variant(Integer(), "sqlite")


# What an entry is about: a resource (the search index) or a consultation response (the
# responses' index). One log and one place in it per node keep both indexes in step alike.
RESOURCE = "resource"
RESPONSE = "response"


class IndexChange(Base):
    __tablename__ = "index_changes"
    __table_args__ = {"sqlite_autoincrement": True}  # never reuse a number, even after pruning

    seq: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default=RESOURCE,
                                      server_default=text(f"'{RESOURCE}'"))
    # The id of the resource, or of the response when kind is RESPONSE. Not a foreign key: the
    # entry of a deletion outlives what it was about.
    resource_id: Mapped[int] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class IndexNode(Base):
    """How far each node's index has come, for `kb check`, /healthz and pruning the log."""

    __tablename__ = "index_nodes"
    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    applied_through: Mapped[int] = mapped_column(SEQUENCE, default=0)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndexLogState(Base):
    """One row: the entries up to `pruned_through` were pruned; a node behind it rebuilds."""

    __tablename__ = "index_log_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    pruned_through: Mapped[int] = mapped_column(SEQUENCE, default=0)
