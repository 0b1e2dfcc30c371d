"""The child side of extraction: `python -m kb.ingest.extract.worker` reads one JSON request on
stdin, limits its own memory, does the work and writes one JSON answer on stdout.

Anything a library prints goes to stderr, so stdout carries only the answer.
"""
from __future__ import annotations

import json
import math
import os
import resource
import sys
from pathlib import Path


def limit(memory_mb: int, timeout: float) -> None:
    """Address space (inherited by Tesseract), CPU time as a backstop, and no core files."""
    memory = int(memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(math.ceil(timeout)) + 10
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def extract(request: dict) -> dict:
    from kb.ingest.extract.base import ExtractionError, Job, finish
    from kb.ingest.extract.registry import FORMATS, processor_for

    content_type = request["content_type"]
    job = Job(content_type=content_type, ocr=bool(request.get("ocr", True)),
              timeout=float(request["timeout"]), memory_mb=int(request["memory_mb"]),
              ocr_languages=request.get("ocr_languages"), max_bytes=request.get("max_bytes"))
    name = FORMATS.get(content_type, "file")
    try:
        result = processor_for(content_type).process(Path(request["path"]), job)
        text, properties, _ = finish(result)
        return {"state": "ok", "text": text, "properties": properties, "error": "",
                "ocr_used": result.ocr_used}
    except ExtractionError as error:
        text, properties = "", {}
        if error.partial is not None:
            text, properties, _ = finish(error.partial)
        return {"state": "failed", "text": text, "properties": properties,
                "error": error.message,
                "ocr_used": bool(error.partial and error.partial.ocr_used)}
    except MemoryError:
        return _failed(f"Extraction needed more than {job.memory_mb} MB of memory.")
    except RecursionError:
        return _failed(f"The {name} is nested too deeply to read.")
    except Exception as error:  # every library has its own errors for a damaged file
        return _failed(f"The file is damaged or not a valid {name}.",
                       detail=f"{type(error).__name__}: {error}"[:500])


def thumbnail(request: dict) -> dict:
    from kb.ingest.thumbnails import render_thumbnail

    try:
        return {"ok": render_thumbnail(Path(request["path"]), request["content_type"],
                                       Path(request["out_path"]), int(request["width"]))}
    except MemoryError:
        return {"ok": False, "detail": "MemoryError"}
    except Exception as error:  # no thumbnail is not an error worth more than a log line
        return {"ok": False, "detail": f"{type(error).__name__}: {error}"[:500]}


def _failed(message: str, detail: str = "") -> dict:
    return {"state": "failed", "text": "", "properties": {}, "error": message,
            "ocr_used": False, "detail": detail}


def main() -> None:
    request = json.loads(sys.stdin.buffer.read() or b"{}")
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # stray prints from libraries (Python or C) go to stderr
    sys.stdout = sys.stderr
    limit(request.get("memory_mb", 1024), request.get("timeout", 60))
    answer = thumbnail(request) if request.get("task") == "thumbnail" else extract(request)
    data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
    with os.fdopen(answer_fd, "wb") as out:
        out.write(data)


if __name__ == "__main__":
    main()
