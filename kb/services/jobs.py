"""The queue of background work: queuing, claiming with a lease, heartbeats, finishing.

Claims are decided by the database, never by a process's memory: a job is taken by an UPDATE
that only succeeds while the job is queued or its lease has run out, so two processes (or two
nodes) never take the same job, and a job whose owner died is taken over once its lease ends.
On PostgreSQL the candidates are read with FOR UPDATE SKIP LOCKED, so concurrent workers do not
even wait for each other.
"""
from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from kb.extensions import db
from kb.models import ExtractionState, Job, JobState, ResourceFile, utcnow
from kb.services import rows

PROCESS_FILE = "process_file"
MAX_ATTEMPTS = 3  # a file that stops its reader this often is given up (marked failed)


def new_owner(label: str = "worker") -> str:
    """An owner name unique to this process and worker: host, process id, a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{label}:{secrets.token_hex(3)}"


def lease_seconds() -> float:
    return float(current_app.config.get("JOB_LEASE_SECONDS", 60))


def queue_new(files: list[ResourceFile]) -> None:
    """Queue reading files just added to the session (no ids needed yet): each file still
    waiting to be read gets its job in the same transaction as its rows."""
    for stored in files:
        if stored.extraction_state == ExtractionState.PENDING:
            db.session.add(Job(kind=PROCESS_FILE, file=stored, state=JobState.QUEUED))


def _insert(values: list[dict]):
    """INSERT for this database, to which the callers add what an existing (kind, file) row
    does."""
    return rows.dialect_insert(Job).values(values)


def enqueue(file_ids: list[int], again: bool = False) -> None:
    """Queue reading these files, in the caller's transaction (so the work is recorded exactly
    when the files are). `again`: a finished job is queued anew (reprocessing); a job that is
    running is left to its owner either way."""
    if not file_ids:
        return
    now = utcnow()
    statement = _insert([{"kind": PROCESS_FILE, "file_id": file_id, "state": JobState.QUEUED,
                          "attempts": 0, "queued_at": now, "last_error": ""}
                         for file_id in dict.fromkeys(file_ids)])
    if again:
        statement = statement.on_conflict_do_update(
            index_elements=["kind", "file_id"],
            set_={"state": JobState.QUEUED.value, "attempts": 0, "owner": None,
                  "lease_until": None, "queued_at": now, "last_error": ""},
            where=Job.state.in_([JobState.DONE, JobState.FAILED, JobState.QUEUED]))
    else:
        statement = statement.on_conflict_do_nothing(index_elements=["kind", "file_id"])
    db.session.execute(statement)


def _claimable(now: datetime):
    return or_(Job.state == JobState.QUEUED,
               and_(Job.state == JobState.RUNNING, Job.lease_until < now))


def claim(owner: str, limit: int = 1, file_ids: list[int] | None = None) -> list[Job]:
    """Take up to `limit` jobs for `owner` (only among `file_ids` if given): queued ones, or
    running ones whose lease has run out. Commits; returns the jobs now held."""
    now = utcnow()
    candidates = select(Job.id).where(_claimable(now)).order_by(Job.id).limit(limit)
    if file_ids is not None:
        candidates = candidates.where(Job.file_id.in_(file_ids))
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    held = []
    for job_id in list(db.session.scalars(candidates)):
        taken = db.session.execute(
            update(Job).where(Job.id == job_id, _claimable(now))
            .values(state=JobState.RUNNING, owner=owner, attempts=Job.attempts + 1,
                    lease_until=now + timedelta(seconds=lease_seconds()), started_at=now)
            .execution_options(synchronize_session=False))
        if taken.rowcount == 1:
            held.append(job_id)
    db.session.commit()
    if not held:
        return []
    return list(db.session.scalars(select(Job).where(Job.id.in_(held)).order_by(Job.id)
                                   .execution_options(populate_existing=True)))


def renew(owner: str, job_ids: list[int]) -> set[int]:
    """The heartbeat: extend the leases `owner` still holds; returns those ids."""
    if not job_ids:
        return set()
    until = utcnow() + timedelta(seconds=lease_seconds())
    db.session.execute(update(Job).where(Job.id.in_(job_ids), Job.owner == owner,
                                         Job.state == JobState.RUNNING)
                       .values(lease_until=until).execution_options(synchronize_session=False))
    held = set(db.session.scalars(select(Job.id).where(Job.id.in_(job_ids), Job.owner == owner,
                                                       Job.state == JobState.RUNNING)))
    db.session.commit()
    return held


def finish(owner: str, job_id: int, error: str = "") -> bool:
    """Mark a job done, in the caller's transaction (with the results it produced). False when
    `owner` no longer holds it (its lease ran out and another process took it over): the caller
    then rolls its results back."""
    done = db.session.execute(
        update(Job).where(Job.id == job_id, Job.owner == owner, Job.state == JobState.RUNNING)
        .values(state=JobState.DONE, owner=None, lease_until=None, finished_at=utcnow(),
                last_error=error[:2000]).execution_options(synchronize_session=False))
    return done.rowcount == 1


def give_up(job: Job) -> None:
    """A job claimed more than MAX_ATTEMPTS times: each attempt ended with its process (a file
    that crashes or hangs its reader). Its file is marked failed, in the caller's transaction."""
    job.state, job.owner, job.lease_until, job.finished_at = (
        JobState.FAILED, None, None, utcnow())
    job.last_error = f"Given up after {MAX_ATTEMPTS} attempts that did not finish."
    stored = db.session.get(ResourceFile, job.file_id)
    if stored is not None:
        stored.extraction_state = ExtractionState.FAILED
        stored.extraction_error = ("The file could not be read: each attempt stopped before "
                                   "it finished.")


def release(owner: str, job_ids: list[int]) -> None:
    """Hand jobs back to the queue at once (a worker stopping cleanly)."""
    if job_ids:
        db.session.execute(update(Job).where(Job.id.in_(job_ids), Job.owner == owner,
                                             Job.state == JobState.RUNNING)
                           .values(state=JobState.QUEUED, owner=None, lease_until=None,
                                   attempts=Job.attempts - 1)
                           .execution_options(synchronize_session=False))
        db.session.commit()


@dataclass
class QueueReport:
    """What `kb check` says of the queue."""

    waiting_long: int = 0   # queued for longer than a lease: no worker is taking them
    expired: int = 0        # running, but the owner's lease ran out: its process died
    unqueued: int = 0       # files waiting to be read with no job (from before the queue)
    failed: int = 0         # given up

    @property
    def ok(self) -> bool:
        return not (self.waiting_long or self.expired or self.unqueued)


def report() -> QueueReport:
    now = utcnow()
    old = now - timedelta(seconds=lease_seconds())

    def count(*conditions) -> int:
        return db.session.scalar(select(func.count(Job.id)).where(*conditions))

    jobless = select(ResourceFile.id).where(
        ResourceFile.extraction_state == ExtractionState.PENDING,
        ~select(Job.id).where(Job.file_id == ResourceFile.id).exists())
    return QueueReport(
        waiting_long=count(Job.state == JobState.QUEUED, Job.queued_at < old),
        expired=count(Job.state == JobState.RUNNING, Job.lease_until < now),
        unqueued=db.session.scalar(select(func.count()).select_from(jobless.subquery())),
        failed=count(Job.state == JobState.FAILED))


def requeue_stranded() -> int:
    """Put expired jobs back in the queue and queue files that have no job; returns how many."""
    now = utcnow()
    moved = db.session.execute(
        update(Job).where(Job.state == JobState.RUNNING, Job.lease_until < now)
        .values(state=JobState.QUEUED, owner=None, lease_until=None, queued_at=now)
        .execution_options(synchronize_session=False)).rowcount
    jobless = list(db.session.scalars(select(ResourceFile.id).where(
        ResourceFile.extraction_state == ExtractionState.PENDING,
        ~select(Job.id).where(Job.file_id == ResourceFile.id).exists())))
    enqueue(jobless)
    db.session.commit()
    return moved + len(jobless)


def held_by(owner: str) -> list[int]:
    """The jobs `owner` holds, as the database records them."""
    return list(db.session.scalars(select(Job.id).where(Job.owner == owner,
                                                        Job.state == JobState.RUNNING)
                                   .order_by(Job.id)))


def waiting_file_ids() -> list[int]:
    """Files whose job is queued or whose owner's lease ran out."""
    return list(db.session.scalars(select(Job.file_id).where(_claimable(utcnow()))
                                   .order_by(Job.id)))
