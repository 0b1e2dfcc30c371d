"""Background work that survives a crash: jobs claimed with a lease and a heartbeat, taken over
when their process dies, never taken twice while it lives; `kb check` sees what is stranded."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from kb.extensions import db
from kb.models import ExtractionState, Job, JobState, ResourceFile, utcnow
from kb.services import ingestion, jobs
from kb.services.ingestion import Upload
from kb.services.worker import Worker
from tests.conftest import run_kb


@pytest.fixture
def queued(app, make_user):
    """Uploads whose work is only queued (no worker in this process picks it up)."""
    app.config["EXTRACTION_MODE"] = "off"
    user = make_user("contributor")

    def upload(count: int = 1, prefix: str = "notes") -> list[int]:
        ids = []
        for number in range(count):
            resource = ingestion.contribute(user, {"kind": "reform_document"}, [
                Upload(f"{prefix}-{number}.txt",
                       io.BytesIO(f"{prefix} {number}: commune budget".encode()))])
            ids.append(resource.current_files[0].id)
        return ids

    return upload


def job_of(file_id: int) -> Job:
    db.session.expire_all()
    return db.session.scalar(select(Job).where(Job.file_id == file_id))


def test_an_upload_queues_its_work_in_the_same_transaction(queued):
    (file_id,) = queued()
    job = job_of(file_id)
    assert job.state == JobState.QUEUED and job.kind == jobs.PROCESS_FILE and job.owner is None
    assert db.session.get(ResourceFile, file_id).extraction_state == ExtractionState.PENDING


def test_concurrent_workers_never_take_the_same_file_twice(app, queued):
    file_ids = queued(24)
    workers = [Worker(app, threads=2) for _ in range(3)]  # 6 threads, 3 owners
    for worker in workers:
        worker.start()
    try:
        assert workers[0].drain(timeout=120)
    finally:
        for worker in workers:
            worker.stop()
    db.session.expire_all()
    rows = list(db.session.scalars(select(Job).where(Job.file_id.in_(file_ids))))
    assert len(rows) == 24
    assert all(row.state == JobState.DONE and row.attempts == 1 for row in rows), \
        [(row.file_id, row.state, row.attempts) for row in rows]
    assert all(db.session.get(ResourceFile, i).extraction_state == ExtractionState.OK
               for i in file_ids)


def test_a_dead_process_job_is_taken_over_after_its_lease(app, queued):
    app.config["JOB_LEASE_SECONDS"] = 1
    (file_id,) = queued()
    (taken,) = jobs.claim("dead-host:1:worker:x", file_ids=[file_id])  # and never heard again
    assert jobs.claim("other:2:worker:y", file_ids=[file_id]) == []  # its lease still runs
    time.sleep(1.2)
    assert jobs.report().expired == 1
    worker = Worker(app).start()
    try:
        assert worker.drain(timeout=60)
    finally:
        worker.stop()
    job = job_of(file_id)
    assert job.state == JobState.DONE and job.attempts == 2
    assert db.session.get(ResourceFile, file_id).extraction_state == ExtractionState.OK


def test_a_live_process_job_is_never_taken_while_its_heartbeat_runs(app, queued):
    app.config["JOB_LEASE_SECONDS"] = 0.6
    (file_id,) = queued()
    owner = "live-host:1:worker:z"
    (job,) = jobs.claim(owner, file_ids=[file_id])
    job_id = job.id  # read here: `job` belongs to this thread's session
    stop = threading.Event()

    def heartbeat():
        with app.app_context():
            while not stop.wait(0.15):
                jobs.renew(owner, [job_id])
            db.session.remove()

    beating = threading.Thread(target=heartbeat)
    beating.start()
    try:
        deadline = time.monotonic() + 2.0  # more than three leases
        while time.monotonic() < deadline:
            assert jobs.claim("other:2:worker:w", file_ids=[file_id]) == []
            time.sleep(0.1)
    finally:
        stop.set()
        beating.join()
    assert job_of(file_id).owner == owner and job_of(file_id).attempts == 1


def test_draining_waits_for_a_job_claimed_but_not_yet_in_hand(app, queued):
    """A worker commits its claim a moment before it notes the job in `held`: a drain in that
    moment saw nothing to wait for (the text of an upload was still pending after it)."""
    (file_id,) = queued()
    worker = Worker(app)  # not started: it stays in that moment
    jobs.claim(worker.owner, file_ids=[file_id])
    assert worker.drain(timeout=0.5) is False
    jobs.release(worker.owner, jobs.held_by(worker.owner))
    assert worker.drain(timeout=0.5) is False  # queued again, and nobody takes it
    worker.start()
    try:
        assert worker.drain(timeout=60) is True
    finally:
        worker.stop()
    assert job_of(file_id).state == JobState.DONE


def test_a_finished_result_is_kept_only_by_the_job_owner(app, queued):
    (file_id,) = queued()
    (job,) = jobs.claim("first:1:worker:a", file_ids=[file_id])
    db.session.execute(update(Job).values(owner="second:2:worker:b"))  # taken over meanwhile
    assert not jobs.finish("first:1:worker:a", job.id)
    db.session.rollback()
    assert job_of(file_id).state == JobState.RUNNING


def test_a_file_that_keeps_stopping_its_reader_is_given_up(app, queued):
    app.config["JOB_LEASE_SECONDS"] = 0.2
    (file_id,) = queued()
    for attempt in range(jobs.MAX_ATTEMPTS):
        assert jobs.claim(f"crashing:{attempt}:worker:c", file_ids=[file_id])
        time.sleep(0.25)
    worker = Worker(app).start()
    try:
        assert worker.drain(timeout=30)
    finally:
        worker.stop()
    assert job_of(file_id).state == JobState.FAILED
    stored = db.session.get(ResourceFile, file_id)
    assert stored.extraction_state == ExtractionState.FAILED and "could not be read" in \
        stored.extraction_error


def test_kb_run_worker_takes_only_queued_or_expired_work(app, queued):
    """At start-up the worker takes what is waiting, and leaves another live process's file."""
    waiting, busy = queued(2)
    jobs.claim("live-elsewhere:1:worker:q", file_ids=[busy])  # lease of 60 s, alive
    worker = Worker(app).start()
    try:
        assert worker.drain(timeout=60)
    finally:
        worker.stop()
    assert job_of(waiting).state == JobState.DONE
    assert job_of(busy).state == JobState.RUNNING and job_of(busy).owner.startswith("live-")


KILLED_WORKER = textwrap.dedent("""
    import sys, time
    from kb import create_app
    from kb.services import jobs
    app = create_app(config={"JOB_LEASE_SECONDS": 1})
    with app.app_context():
        (job,) = jobs.claim(jobs.new_owner("doomed"), file_ids=[int(sys.argv[1])])
        print("claimed", flush=True)
        time.sleep(600)  # reading a huge file... until kill -9
""")


def test_kill_9_in_the_middle_of_a_job_loses_nothing(app, instance, queued):
    (file_id,) = queued()
    child = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, str(file_id)],
                             env={**os.environ, "KB_INSTANCE_PATH": str(instance)},
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "claimed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert job_of(file_id).state == JobState.RUNNING
    app.config["JOB_LEASE_SECONDS"] = 1
    time.sleep(1.2)
    worker = Worker(app).start()
    try:
        assert worker.drain(timeout=60)
    finally:
        worker.stop()
    assert job_of(file_id).state == JobState.DONE
    assert db.session.get(ResourceFile, file_id).extraction_state == ExtractionState.OK


def test_kb_check_reports_stranded_work_and_stray_uploads_and_repair_fixes_them(
        app, instance, queued):
    waiting = queued(2)
    stranded = queued(1, prefix="stranded")[0]
    jobs.claim("dead:9:worker:d", file_ids=[stranded])
    # Old enough: queued and claimed longer ago than a lease.
    long_ago = utcnow().replace(year=2000)
    db.session.execute(update(Job).values(queued_at=long_ago, lease_until=long_ago))
    # A file from before the queue existed: pending, with no job.
    db.session.execute(Job.__table__.delete().where(Job.file_id == waiting[1]))
    db.session.commit()
    tmp = Path(app.config["FILE_STORE_PATH"]) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    stray = tmp / "upload-left-by-a-crash"
    stray.write_bytes(b"half an upload")
    fresh = tmp / "upload-in-progress"
    fresh.write_bytes(b"being received now")
    os.utime(stray, (time.time() - 7200, time.time() - 7200))

    report = run_kb(instance, "check")
    assert report.exit_code == 1
    assert "waiting to be read for longer than a lease: 1" in report.output
    assert "reader stopped (lease expired): 1" in report.output
    assert "waiting to be read with no job: 1" in report.output
    assert "Stray upload temporaries: 1" in report.output

    repaired = run_kb(instance, "check", "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert not stray.exists() and fresh.exists()  # a live upload's temporary is left alone
    db.session.expire_all()
    states = {db.session.get(ResourceFile, i).extraction_state for i in waiting + [stranded]}
    assert states == {ExtractionState.OK}
    assert db.session.scalar(select(func.count(Job.id)).where(
        Job.state != JobState.DONE)) == 0
