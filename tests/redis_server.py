"""A private Redis server for the tests: Debian's `redis-server` on a free port of 127.0.0.1,
without persistence (no RDB snapshots, no append-only file), in a folder of its own.

Used where several application nodes must share what Flask-Limiter counts
(RATELIMIT_STORAGE_URI=redis://...). scripts/install --test installs the package.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, stop


class RedisUnavailable(RuntimeError):
    """No redis-server to start; the message says what to install."""


@dataclass
class RedisServer:
    process: subprocess.Popen
    port: int
    log: Path

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def client(self, database: int = 0):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=database)

    def stop(self) -> None:
        stop(self.process)


def start(folder: Path, timeout: float = 30) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable("redis-server was not found: install Debian's redis-server "
                               "package (scripts/install --test does so as root)")
    folder.mkdir(parents=True, exist_ok=True)
    last = ""
    for attempt in range(3):  # another port if someone took this one meanwhile
        port = free_port()
        log = folder / f"redis-{attempt}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(folder), "--protected-mode", "yes"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder,
                start_new_session=True)
        server = RedisServer(process, port, log)
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if server.client().ping():
                    return server
            except Exception as error:  # noqa: BLE001 - not up yet
                last = str(error)
                time.sleep(0.05)
        last = f"{last}\n{log.read_text(errors='replace')[-2000:]}"
        server.stop()
    raise RedisUnavailable(f"redis-server did not start: {last}")
