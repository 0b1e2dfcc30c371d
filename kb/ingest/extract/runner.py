"""Runs work on a file in a child process (kb.ingest.extract.worker) that limits its
own address space, and kills the child's whole process group when the wall-clock time is up.

A child rather than a thread because a decompression bomb, a pathological PDF or a C library
crash must cost one child, never the web server. A fresh interpreter rather than fork, because
the server has threads (forking those is unsafe) and a fresh child holds none of its memory.
A fresh child for every file, never a reused one, so that whatever one file does to its
interpreter cannot reach the next file. The child imports only the extraction code, not the web
application (`kb/__init__.py` imports Flask, which was half of the child's start-up time and
memory).
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# The worker (`python -m kb.ingest.extract.worker` works too) with the `kb` package registered
# as a bare package, so that importing kb.ingest.extract does not run kb/__init__.py.
_BOOTSTRAP = ("import sys, types\n"
              "package = types.ModuleType('kb')\n"
              "package.__path__ = [sys.argv[1]]\n"
              "sys.modules['kb'] = package\n"
              "from kb.ingest.extract.worker import main\n"
              "main()\n")
_MEMORY_SIGNS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory",
                 "Out of memory", "failed to allocate", "Failed to allocate")


class ChildFailed(Exception):
    """The child gave no answer; message says why in words for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def run_child(request: dict, timeout: float, memory_mb: int) -> dict:
    """Send `request` to a fresh worker and return its JSON answer. Raises ChildFailed on
    timeout, when memory ran out, or when the child died without answering."""
    request = dict(request, timeout=timeout, memory_mb=memory_mb)
    env = dict(os.environ, OMP_THREAD_LIMIT="1", PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                      env.get("PYTHONPATH")]))
    process = subprocess.Popen([sys.executable, "-c", _BOOTSTRAP, str(PROJECT_ROOT / "kb")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True, env=env,
                               cwd=str(PROJECT_ROOT))
    try:
        out, err = process.communicate(json.dumps(request).encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.communicate()
        raise ChildFailed(f"Extraction took longer than {timeout:g} s.") from None
    except BaseException:
        _kill_group(process)
        process.communicate()
        raise
    try:
        return json.loads(out.decode("utf-8"))
    except ValueError:
        pass
    stderr = err.decode("utf-8", errors="replace")
    log.warning("extraction child for %s exited with %s: %s", request.get("path"),
                process.returncode, stderr[-2000:])
    if any(sign in stderr for sign in _MEMORY_SIGNS) or process.returncode == -signal.SIGKILL:
        raise ChildFailed(f"Extraction needed more than {memory_mb} MB of memory.")
    raise ChildFailed("The file could not be read (the extractor stopped unexpectedly).")


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the child and anything it started (Tesseract); the child is not yet reaped, so its
    process group id cannot belong to anyone else."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
