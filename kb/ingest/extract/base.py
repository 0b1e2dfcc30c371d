"""What every file processor shares: the job it is given, the result it returns, the one error
it may raise, and the finishing of text and properties (cleanup, Khmer normalisation, language).

A processor has the Invenio file-processor shape: `can_process(content_type)` and
`process(path, job) -> Result`. Processors run only inside the limited child process.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from kb.ingest.khmer import contains_khmer, khmer_ratio, normalise_khmer
from kb.ingest.storable import storable, storable_text

MAX_TEXT_CHARS = 5_000_000  # longer text is cut (and marked "truncated") to keep rows sane


class ExtractionError(Exception):
    """A failure with a short, clear English reason to show to the user; `partial` carries
    whatever could still be read (handed back with the failed state)."""

    def __init__(self, message: str, partial: Result | None = None):
        super().__init__(message)
        self.message = message
        self.partial = partial


@dataclass
class Job:
    """What the parent asked for, as the processors see it."""

    content_type: str
    ocr: bool = True
    timeout: float = 60.0
    memory_mb: int = 1024
    ocr_languages: str | None = None  # "khm+eng" when Tesseract is there (the parent looks)
    max_bytes: int | None = None  # read at most this much of a text file (in-process reads)
    started: float = field(default_factory=time.monotonic)

    def time_left(self) -> float:
        """Seconds left before the parent kills us, minus a margin to hand back partial work."""
        return self.timeout - (time.monotonic() - self.started) - max(1.0, self.timeout * 0.1)


@dataclass
class Result:
    text: str = ""
    properties: dict = field(default_factory=dict)
    ocr_used: bool = False


class Processor(Protocol):
    content_types: frozenset[str]

    def can_process(self, content_type: str) -> bool: ...

    def process(self, path: Path, job: Job) -> Result: ...


class TypedProcessor:
    """Base for processors that handle a fixed set of content types."""

    content_types: frozenset[str] = frozenset()

    def can_process(self, content_type: str) -> bool:
        return content_type in self.content_types


class TextBudget:
    """Collects text parts and stops a processor early once the text is long enough."""

    def __init__(self, limit: int = MAX_TEXT_CHARS):
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit

    @property
    def full(self) -> bool:
        return self.size >= self.limit

    def add(self, part: str) -> bool:
        """Add a part; False once the budget is spent (callers stop reading then)."""
        if part and not self.full:
            self.parts.append(part)
            self.size += len(part) + 1
        return not self.full

    def text(self, separator: str = "\n") -> str:
        return separator.join(self.parts)


# --- Finishing ------------------------------------------------------------------------------

# Control characters (but tab and newline), C1 controls and the noncharacters PDF libraries use
# for soft hyphens at line ends.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SPACES = re.compile("[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")  # tabs too: cells, poems
_BLANK_LINES = re.compile("\n{3,}")


def clean_text(text: str) -> str:
    """One newline convention, no control characters (nor lone surrogates: see
    kb.ingest.storable), Khmer normalised, runs of spaces and tabs made one space, at most one
    blank line in a row."""
    text = storable_text(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = normalise_khmer(text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    text = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", text).strip()


_ASCII_LETTER = re.compile("[A-Za-z]")  # what ch.isascii() and ch.isalpha() accepts


def guess_language(text: str) -> str | None:
    """"km" or "en" from the script of the text; None when there is too little to tell."""
    sample = text[:200_000]
    letters = sum(map(str.isalpha, sample))
    if letters < 20:
        return None
    if contains_khmer(sample) and khmer_ratio(sample) >= 0.4:  # no Khmer: a ratio of 0
        return "km"
    latin = len(_ASCII_LETTER.findall(sample))
    return "en" if latin / letters >= 0.5 else None


# A first line longer than this is a paragraph, not a title.
TITLE_LINE_CHARS = 300


def first_line_title(text: str) -> str | None:
    """The first line of a text, when it reads as a title (short, with some letters): what a
    report, a law or an article typed as plain text starts with."""
    for line in text.split("\n"):
        line = line.strip()
        if line:
            if len(line) <= TITLE_LINE_CHARS and sum(map(str.isalpha, line)) >= 3:
                return line
            return None
    return None


def finish(result: Result) -> tuple[str, dict, bool]:
    """Final text and properties as handed to the caller (and stored): text cleaned and capped,
    string properties cleaned and trimmed, the others made storable, language guessed from the
    text, the title taken from the text's first line when the file's own properties have none
    (a plain text file, an office document or PDF without a title property: their first line
    is their title or first heading). Returns (text, properties, truncated)."""
    text = clean_text(result.text)
    truncated = len(text) > MAX_TEXT_CHARS
    if truncated:
        text = text[:MAX_TEXT_CHARS]
    properties = {}
    for key, value in result.properties.items():
        if isinstance(value, str):
            value = clean_text(value)[:1000]
            if value:
                properties[key] = value
        elif value is not None and value != "":
            properties[key] = storable(value)
    if not properties.get("title"):
        title = first_line_title(text)
        if title:
            properties["title"] = title
    language = guess_language(text)
    if language:
        properties["language"] = language
    if truncated:
        properties["truncated"] = True
    return text, properties, truncated


_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def iso_date(value) -> str | None:
    """YYYY-MM-DD from a datetime/date, an ISO string or a PDF date (D:YYYYMMDD...)."""
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        found = (value.year, value.month, value.day)
    else:
        value = str(value).strip()
        match = _ISO_DATE.match(value)
        if match:
            found = tuple(int(g) for g in match.groups())
        else:
            match = _PDF_DATE.match(value)
            if not match:
                return None
            found = (int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1))
    try:
        day = date(*found)
    except ValueError:
        return None
    if not 1900 <= day.year <= date.today().year + 1:  # 1601/1980 defaults and nonsense
        return None
    return day.isoformat()


_TITLE_PREFIX = re.compile(r"^(Microsoft (Word|PowerPoint|Excel) - )", re.IGNORECASE)
_TITLE_SUFFIX = re.compile(r"\.(docx?|pptx?|xlsx?|odt|pdf|rtf)$", re.IGNORECASE)


def tidy_title(title: str | None) -> str | None:
    """A document title without the "Microsoft Word - name.docx" that printing to PDF adds."""
    if not title:
        return None
    title = title.strip()
    if _TITLE_PREFIX.match(title):
        title = _TITLE_SUFFIX.sub("", _TITLE_PREFIX.sub("", title)).strip()
    return title or None
