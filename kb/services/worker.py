"""The worker: a loop that claims queued jobs (kb/services/jobs.py) and does them, until it is
stopped. It runs in threads inside `kb run` (unless --no-worker) and on its own as
`kb worker`; any number of them, on any number of nodes, share one queue."""
from __future__ import annotations

import logging
import threading
import time

from kb.extensions import db
from kb.ingest.storage import BlobMissing, StoreUnavailable
from kb.models import ResourceFile
from kb.services import filestore, jobs, processing

log = logging.getLogger(__name__)
_lock = threading.Lock()


class Worker:
    def __init__(self, app, threads: int = 1):
        self.app = app
        self.threads = max(1, threads)
        self.owner = jobs.new_owner("worker")
        self.poll = float(app.config.get("JOB_POLL_SECONDS", 2.0))
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.held = processing.Held()
        self._threads: list[threading.Thread] = []
        self._heartbeat = None

    def start(self) -> Worker:
        self._heartbeat = processing._Heartbeat(self.app, self.owner, self.held.ids)
        self._heartbeat.__enter__()
        for number in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"kb-worker-{number}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def wake(self) -> None:
        """Look at the queue now (this process just queued something)."""
        self.wakeup.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the jobs in hand (within `timeout`), then hand back any still held."""
        self.stopping.set()
        self.wakeup.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        if self._heartbeat is not None:
            self._heartbeat.__exit__(None, None, None)
        with self.app.app_context():
            jobs.release(self.owner, self.held.ids())
            db.session.remove()

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until nothing is queued that this worker could take, nor in its hands (for
        tests and commands). True if that happened within `timeout`."""
        deadline = time.monotonic() + timeout
        with self.app.app_context():
            try:
                while time.monotonic() < deadline:
                    db.session.rollback()  # a fresh view of the queue
                    # The database too: a job is claimed (and committed) a moment before the
                    # worker notes it in `held`; in between it is neither waiting nor held.
                    if not self.held.ids() and not jobs.waiting_file_ids() \
                            and not jobs.held_by(self.owner):
                        return True
                    self.wake()
                    time.sleep(0.05)
                return False
            finally:
                db.session.remove()

    def _loop(self) -> None:
        with self.app.app_context():
            while not self.stopping.is_set():
                try:
                    did_something = self.run_one()
                except Exception:  # keep the worker alive; the job's lease will run out
                    db.session.rollback()
                    log.exception("a background job failed")
                    did_something = False
                if not did_something:
                    self.wakeup.wait(self.poll)
                    self.wakeup.clear()
            db.session.remove()

    def run_one(self) -> bool:
        """Claim one job and do it; False when the queue had nothing to take, or when the file
        store cannot be reached (the job goes back to the queue, not counted as an attempt,
        and the worker waits a poll interval before it tries again)."""
        claimed = jobs.claim(self.owner, limit=1)
        if not claimed:
            return False
        job = claimed[0]
        self.held[job.id] = job
        try:
            if job.attempts > jobs.MAX_ATTEMPTS:
                jobs.give_up(job)
                db.session.commit()
                return True
            stored = db.session.get(ResourceFile, job.file_id)
            if stored is None:  # deleted meanwhile (its job with it)
                db.session.rollback()
                return True
            sha256, content_type = stored.sha256, stored.content_type
            db.session.commit()  # no transaction stays open while the file is read
            try:
                result, thumbnail = processing._work(filestore.store(), sha256, content_type,
                                                     processing._limits())
            except BlobMissing:
                result = thumbnail = None
            except StoreUnavailable as error:
                log.warning("file %s left queued: %s", job.file_id, error.message)
                jobs.release(self.owner, [job.id])
                return False
            stored = db.session.get(ResourceFile, job.file_id)
            if stored is None:
                db.session.rollback()
                return True
            if result is None:
                processing._record_missing(stored)
            else:
                processing._record(stored, result, thumbnail)
            if jobs.finish(self.owner, job.id):
                db.session.commit()
            else:  # the lease ran out and another process took it over: its result counts
                db.session.rollback()
            return True
        finally:
            self.held.pop(job.id)


def worker_for(app) -> Worker:
    """This process's worker, started on first use."""
    with _lock:
        worker = app.extensions.get("kb_worker")
        if worker is None:
            worker = Worker(app, threads=int(app.config.get("WORKER_THREADS", 1))).start()
            app.extensions["kb_worker"] = worker
        return worker


def stop_worker(app, timeout: float = 30.0) -> None:
    worker = app.extensions.pop("kb_worker", None)
    if worker is not None:
        worker.stop(timeout)
