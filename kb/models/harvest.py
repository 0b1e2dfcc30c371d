"""What harvesters must be told about resources they can no longer have (OAI-PMH deletions)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from kb.models.base import Base, utcnow


class OaiTombstone(Base):
    """A resource that harvesters had and no longer may: archived, deleted, made members-only or
    taken back for changes. Kept for good ("deletedRecord persistent"), so an incremental
    harvest learns of the removal; removed again when the resource comes back. No foreign key:
    the resource itself may be gone."""

    __tablename__ = "oai_tombstones"
    resource_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    set_specs: Mapped[list] = mapped_column(JSON, default=list)  # the sets it was in
