"""Background work (reading a stored file's text, OCR, its thumbnail) as rows a process claims.

A job is claimed with a lease: its owner renews the lease with a heartbeat while it works, so a
live process's job is never taken by another; when a process dies its lease runs out and any
other process takes the job over. One row per (kind, file): queuing the same work again reuses
the row, so the same file is never queued twice.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.models.base import Base, utcnow
from kb.models.resources import ResourceFile
from kb.models.users import _enum


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"  # claimed; lease_until says until when its owner holds it
    DONE = "done"
    FAILED = "failed"  # gave up after too many attempts (each one ended with its process)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("kind", "file_id", name="uq_jobs_kind_file"),
                      Index("ix_jobs_state_lease", "state", "lease_until"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # "process_file"
    file_id: Mapped[int] = mapped_column(ForeignKey("resource_files.id", ondelete="CASCADE"))
    state: Mapped[JobState] = mapped_column(_enum(JobState, "job_state"), default=JobState.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    owner: Mapped[str | None] = mapped_column(String(120))  # host:pid:worker of the claimant
    lease_until: Mapped[datetime | None]
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")

    file: Mapped[ResourceFile] = relationship()
