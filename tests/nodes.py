"""Application nodes as real processes: `kb run` and `kb worker` started by the tests with an
instance folder (search index, scratch) of their own and the shared settings in KB_*
variables, on free ports of 127.0.0.1 — as several machines would run them.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.processes import free_port

KB = str(Path(sys.executable).parent / "kb")


def environment(instance: Path, settings: dict) -> dict:
    """This process's environment (the test's database and key when on PostgreSQL) with the
    node's folder and the given settings as KB_* variables."""
    return {**os.environ, "KB_INSTANCE_PATH": str(instance),
            **{f"KB_{name}": str(value) for name, value in settings.items()}}


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        return self

    def kill(self) -> None:
        """kill -9: no clean-up of any kind, as a machine losing power."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Node(Process):
    port: int = 0
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_up(self, timeout: float = 120) -> Node:
        deadline, last = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n"
                                   f"{self.output()}")
            try:
                answer = requests.get(self.url + "/healthz", timeout=5)
                if answer.status_code == 200:
                    return self
                last = f"{answer.status_code} {answer.text[:500]}"
            except requests.RequestException as error:
                last = str(error)
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s ({last}):\n"
                           f"{self.output()}")

    def health(self) -> dict:
        answer = requests.get(self.url + "/healthz", timeout=10)
        assert answer.status_code == 200, answer.status_code
        return answer.json()


def start_node(name: str, instance: Path, settings: dict, folder: Path,
               threads: int = 4) -> Node:
    """`kb run --no-worker` for `instance`, up and answering /healthz."""
    instance.mkdir(parents=True, exist_ok=True)
    port = free_port()
    node = Node(name, [KB, "run", "--no-worker", "--port", str(port), "--threads", str(threads)],
                environment(instance, {"INDEX_NODE_NAME": name, **settings}),
                folder / f"{name}.log", port=port)
    return node.start().wait_until_up()


def restart(node: Node) -> Node:
    node.session = requests.Session()
    return node.start().wait_until_up()


def start_worker(name: str, instance: Path, settings: dict, folder: Path) -> Process:
    instance.mkdir(parents=True, exist_ok=True)
    return Process(name, [KB, "worker", "--threads", "1"],
                   environment(instance, {"INDEX_NODE_NAME": name, **settings}),
                   folder / f"{name}.log").start()


def run_kb(instance: Path, settings: dict, *args: str, timeout: float = 300):
    """A `kb` command for `instance` as its own process (the outcome: CompletedProcess)."""
    return subprocess.run([KB, *args], env=environment(instance, settings), capture_output=True,
                          text=True, timeout=timeout)
