"""`kb check`: does everything agree — database, stored files, search index, background work?
`kb check --repair` fixes what can be fixed: the index is rewritten, stranded work is queued
again and done, stray temporaries are removed. Stored files that are missing cannot be made
again and stay reported."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from kb.ingest import storage
from kb.services import filestore, indexing, jobs


@dataclass
class Report:
    index: indexing.CheckReport
    queue: jobs.QueueReport
    files: filestore.FilesReport
    stray: list = field(default_factory=list)  # upload temporaries nothing will finish

    @property
    def ok(self) -> bool:
        return self.index.ok and self.queue.ok and self.files.ok and not self.stray

    def lines(self) -> list[str]:
        out = self.index.lines() + self.files.lines()
        queue = self.queue
        if queue.waiting_long:
            out.append(f"Files waiting to be read for longer than a lease: {queue.waiting_long} "
                       "(no worker is running: `kb run` or `kb worker` reads them)")
        if queue.expired:
            out.append(f"Files whose reader stopped (lease expired): {queue.expired}")
        if queue.unqueued:
            out.append(f"Files waiting to be read with no job: {queue.unqueued}")
        if queue.failed:
            out.append(f"Files given up after repeated failed attempts: {queue.failed} "
                       "(`kb reprocess --failed` tries again)")
        if self.stray:
            out.append(f"Stray upload temporaries: {len(self.stray)}")
        return out


def check() -> Report:
    return Report(indexing.check(), jobs.report(), filestore.check_files(),
                  storage.stray_temporaries(filestore.store(),
                                            current_app.config["STRAY_UPLOAD_SECONDS"]))


def repair(report: Report) -> Report:
    """Fix what `report` found, then check again."""
    from kb.services import processing

    for path in report.stray:
        path.unlink(missing_ok=True)
    if not report.queue.ok:
        jobs.requeue_stranded()
        # Done here and now, claimed like any worker would: a live process's job is never
        # taken, and nothing is left waiting for a worker that may not be running.
        processing.process_files(jobs.waiting_file_ids())
    if not report.index.ok:
        indexing.repair(report.index)
    return check()
