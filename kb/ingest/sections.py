"""Dividing a draft's extracted text into sections a consultation can comment on.

Drafts of laws and sub-decrees are divided into articles, chapters and parts (in Khmer មាត្រា,
ជំពូក, ផ្នែក, with Khmer or Arabic numerals); other drafts into numbered headings ("3.", "2.1");
anything else into paragraphs. The coarsest layer that is present wins for the headings: when a
draft has articles, the numbered points inside an article stay in that article.

An editor corrects the division as plain text, each section starting on a line "## heading"
(`division_text` / `parse_division`), so no division is ever final.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_SECTIONS = 500
MAX_HEADING = 300
MAX_HEADING_LINE = 120  # a longer line is body text, even if it starts like a heading
MIN_PARAGRAPH_CHUNK = 300  # characters, when a text without blank lines is cut by lines

KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
NUMBER = r"(?:\d+|[០-៩]+|[IVXLCDM]+\b)"

# Words that open a division, with the English word used in the anchor.
KEYWORDS = {
    "article": "article", "art.": "article", "chapter": "chapter", "part": "part",
    "section": "section", "title": "title", "book": "book", "annex": "annex",
    "appendix": "annex", "preamble": "preamble",
    "មាត្រា": "article", "ជំពូក": "chapter", "ផ្នែក": "part", "ភាគ": "part",
    "កថាខណ្ឌ": "section", "គន្ថី": "book", "ឧបសម្ព័ន្ធ": "annex", "បុព្វកថា": "preamble",
    "អារម្ភកថា": "preamble",
}
UNNUMBERED = {"preamble"}

_words = "|".join(re.escape(w) for w in sorted(KEYWORDS, key=len, reverse=True))
KEYWORD_RE = re.compile(rf"^\s*({_words})(?:\s*({NUMBER}))?(?=$|[\s.:\-–—)])",
                        re.IGNORECASE)
NUMBERED_RE = re.compile(r"^\s*((?:\d+|[០-៩]+)(?:\.(?:\d+|[០-៩]+))*)[.)]?\s+\S")
MARKER_RE = re.compile(r"^##(?!#)[ \t]?(.*)$")


@dataclass
class Section:
    heading: str
    text: str
    anchor: str = ""


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\x00", "").replace("\f", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _keyword_heading(line: str) -> tuple[str, str] | None:
    """(kind, number) when `line` opens an article, chapter, part..."""
    if len(line.strip()) > MAX_HEADING_LINE:
        return None
    match = KEYWORD_RE.match(line)
    if match is None:
        return None
    kind = KEYWORDS[match.group(1).lower()]
    number = match.group(2)
    if number is None and kind not in UNNUMBERED:
        return None  # "Article" alone, or a sentence starting with "Part of ..."
    return kind, (number or "").translate(KHMER_DIGITS).lower()


def _numbered_heading(line: str) -> str | None:
    if len(line.strip()) > MAX_HEADING_LINE:
        return None
    match = NUMBERED_RE.match(line)
    return match.group(1).translate(KHMER_DIGITS) if match else None


def _split_at(lines: list[str], starts: list[tuple[int, str]]) -> list[Section]:
    """Sections beginning at the given line numbers, each headed by its first line; the text
    before the first one (a title, a preamble note) becomes an introduction."""
    sections = []
    first = starts[0][0]
    intro = "\n".join(lines[:first]).strip()
    if intro:
        sections.append(Section("", intro, "intro"))
    for number, (start, anchor) in enumerate(starts):
        end = starts[number + 1][0] if number + 1 < len(starts) else len(lines)
        heading = " ".join(lines[start].split())[:MAX_HEADING]
        body = "\n".join(lines[start + 1:end]).strip()
        sections.append(Section(heading, body, anchor))
    return sections


def _paragraphs(text: str) -> list[Section]:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    if len(blocks) == 1 and "\n" in blocks[0]:
        # Extracted PDF text often has no blank lines: gather lines into readable chunks.
        chunks, current = [], []
        for line in blocks[0].split("\n"):
            current.append(line)
            if sum(len(part) for part in current) >= MIN_PARAGRAPH_CHUNK:
                chunks.append("\n".join(current).strip())
                current = []
        if current:
            chunks.append("\n".join(current).strip())
        blocks = [c for c in chunks if c]
    return [Section("", block, f"p-{n}") for n, block in enumerate(blocks, start=1)]


def divide(text: str) -> list[Section]:
    """The sections of a draft's text, each with a unique anchor."""
    text = _clean(text)
    lines = text.split("\n")
    keyword_starts = []
    for number, line in enumerate(lines):
        found = _keyword_heading(line)
        if found:
            kind, value = found
            keyword_starts.append((number, f"{kind}-{value}" if value else kind))
    if keyword_starts:
        sections = _split_at(lines, keyword_starts)
    else:
        numbered = [(n, "s-" + value.replace(".", "-")) for n, line in enumerate(lines)
                    if (value := _numbered_heading(line))]
        sections = _split_at(lines, numbered) if len(numbered) >= 2 else _paragraphs(text)
    return unique_anchors(sections[:MAX_SECTIONS])


def unique_anchors(sections: list[Section]) -> list[Section]:
    """Give repeated anchors (two "Article 1"s in two chapters) a suffix: -2, -3..."""
    used: set[str] = set()
    for number, section in enumerate(sections, start=1):
        base = re.sub(r"[^a-z0-9\-]+", "-", (section.anchor or f"p-{number}").lower())
        base = base.strip("-")[:70] or f"p-{number}"
        anchor, count = base, 1
        while anchor in used:
            count += 1
            anchor = f"{base}-{count}"
        used.add(anchor)
        section.anchor = anchor
    return sections


def division_text(sections: list[Section]) -> str:
    """The sections as an editor corrects them: each starts with a line "## heading"."""
    parts = []
    for section in sections:
        parts.append(f"## {section.heading}".rstrip() + "\n" + section.text.strip())
    return "\n\n".join(parts) + ("\n" if parts else "")


def parse_division(text: str) -> list[Section]:
    """The editor's corrected division back into sections (anchors from the headings).

    Text before the first "## " line becomes an untitled first section."""
    text = _clean(text)
    sections: list[Section] = []
    heading, body = None, []
    for line in text.split("\n"):
        marker = MARKER_RE.match(line)
        if marker:
            if heading is not None or any(part.strip() for part in body):
                sections.append(Section(heading or "", "\n".join(body).strip()))
            heading, body = " ".join(marker.group(1).split())[:MAX_HEADING], []
        else:
            body.append(line)
    if heading is not None or any(part.strip() for part in body):
        sections.append(Section(heading or "", "\n".join(body).strip()))
    for number, section in enumerate(sections, start=1):
        found = _keyword_heading(section.heading) if section.heading else None
        if found:
            section.anchor = f"{found[0]}-{found[1]}" if found[1] else found[0]
        elif section.heading and (value := _numbered_heading(section.heading + " x")):
            section.anchor = "s-" + value.replace(".", "-")
        else:
            section.anchor = "intro" if number == 1 and not section.heading else f"p-{number}"
    return unique_anchors(sections[:MAX_SECTIONS])
