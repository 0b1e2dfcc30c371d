"""Plain text, Markdown, HTML and RTF: character sets detected, markup dropped."""
from __future__ import annotations

import codecs
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

from kb.ingest.extract.base import Job, Result, TypedProcessor, iso_date, tidy_title

MAX_TEXT_FILE = 200 * 1024 * 1024  # bytes read from a text file at most
DETECTION_SAMPLE = 256 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""",
                           re.IGNORECASE)


_WINDOWS_1252_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1",
                                  "us-ascii", "ascii", "windows-1252", "cp1252"})


def bom_encoding(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def detect_encoding(data: bytes, declared: str | None = None) -> str:
    """BOM, then UTF-8 if the bytes are valid UTF-8 (pages often declare a charset they are
    not in), then a declared charset; otherwise what charset-normalizer finds, except that
    Latin-script guesses give way to Windows-1252 (it confuses cp1252 with cp1250/cp1257 on
    short texts, and cp1252 is what legacy English documents here are in)."""
    found = bom_encoding(data)
    if found:
        return found
    sample = data[:DETECTION_SAMPLE]
    complete = len(sample) == len(data)
    candidates = ["utf-8"]
    if declared:  # as browsers do, Latin-1 and ASCII labels mean Windows-1252
        candidates.append("cp1252" if declared.lower().replace("_", "-") in _WINDOWS_1252_LABELS
                          else declared)
    for encoding in candidates:
        if _decodes(sample, encoding, complete):
            return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None and not _latin_script(str(best)):
        return best.encoding
    if _decodes(sample, "cp1252", complete):
        return "cp1252"
    return best.encoding if best is not None else "latin-1"


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
        return True
    except (LookupError, UnicodeDecodeError):
        return False


def _latin_script(text: str) -> bool:
    """Whether the non-ASCII letters of the text are (mostly) Latin letters."""
    letters = [ch for ch in text[:20000] if ord(ch) > 127 and ch.isalpha()]
    if not letters:
        return True
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    return latin >= 0.8 * len(letters)


def decode(data: bytes, declared: str | None = None) -> str:
    return data.decode(detect_encoding(data, declared), errors="replace")


def read_bytes(path: Path, job: Job | None = None) -> bytes:
    """The file's bytes, at most MAX_TEXT_FILE (or the job's smaller max_bytes)."""
    limit = min(MAX_TEXT_FILE, job.max_bytes) if job and job.max_bytes else MAX_TEXT_FILE
    with open(path, "rb") as handle:
        return handle.read(limit)


class PlainTextProcessor(TypedProcessor):
    content_types = frozenset({"text/plain"})

    def process(self, path: Path, job: Job) -> Result:
        return Result(text=decode(read_bytes(path, job)))


class MarkdownProcessor(TypedProcessor):
    content_types = frozenset({"text/markdown"})

    def process(self, path: Path, job: Job) -> Result:
        import markdown

        source = decode(read_bytes(path, job))
        html = markdown.markdown(source, output_format="html")
        text, properties = html_text(html)
        if not properties.get("title"):
            first_heading = re.search(r"^#\s+(.+?)\s*#*\s*$", source, re.MULTILINE)
            if first_heading:
                properties["title"] = first_heading.group(1)
        return Result(text=text, properties=properties)


class HtmlProcessor(TypedProcessor):
    content_types = frozenset({"text/html"})

    def process(self, path: Path, job: Job) -> Result:
        data = read_bytes(path, job)
        declared = _META_CHARSET.search(data[:4096])
        text, properties = html_text(decode(data, declared.group(1).decode("ascii")
                                            if declared else None))
        return Result(text=text, properties=properties)


class _HtmlText(HTMLParser):
    """Visible text of an HTML page, a line per block; script, style and the like skipped."""

    SKIP = frozenset({"script", "style", "template", "noscript", "svg", "math", "iframe",
                      "object", "canvas", "select", "button"})
    BLOCK = frozenset({"address", "article", "aside", "blockquote", "br", "caption", "dd", "div",
                       "dl", "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
                       "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
                       "section", "table", "tr", "ul"})
    CELL = frozenset({"td", "th"})
    AUTHOR = frozenset({"author", "dc.creator", "dcterms.creator", "creator"})
    DATE = frozenset({"date", "dc.date", "dcterms.created", "dcterms.date",
                      "article:published_time", "citation_publication_date"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.properties: dict = {}
        self.skipping = 0
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "title":
            self.in_title = True
        elif tag == "meta":
            self._meta(dict(attrs))
        elif tag in self.BLOCK:
            self.parts.append("\n")
        elif tag in self.CELL:
            self.parts.append("\t")
        elif tag == "img" and not self.skipping:
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f" {alt} ")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skipping:
            return
        (self.title if self.in_title else self.parts).append(data)

    def _meta(self, attrs: dict) -> None:
        name = (attrs.get("name") or attrs.get("property") or "").strip().lower()
        content = (attrs.get("content") or "").strip()
        if not content:
            return
        if name in self.AUTHOR:
            self.properties.setdefault("author", content)
        elif name in self.DATE and iso_date(content):
            self.properties.setdefault("date", iso_date(content))
        elif name in ("dc.title", "og:title"):
            self.properties.setdefault("meta_title", content)


# Spaces and tabs around line breaks. The look-behind makes a match start only where a run of
# spaces starts: without it a long run of spaces with no line break after it was tried from each
# of its positions (quadratic: 64 KB of spaces took half a minute).
_LINE_BREAKS = re.compile(r"(?<![ \t])[ \t]*\n[ \t\n]*")


def html_text(html: str) -> tuple[str, dict]:
    """(visible text, properties) of an HTML document or fragment."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = _LINE_BREAKS.sub(lambda m: "\n\n" if m.group().count("\n") > 1 else "\n", text)
    properties = dict(parser.properties)
    title = " ".join("".join(parser.title).split()) or properties.pop("meta_title", None)
    properties.pop("meta_title", None)
    if title:
        properties["title"] = tidy_title(title)
    return text, properties


class RtfProcessor(TypedProcessor):
    content_types = frozenset({"application/rtf"})

    def process(self, path: Path, job: Job) -> Result:
        from striprtf.striprtf import rtf_to_text

        source = read_bytes(path, job).decode("latin-1")  # RTF is 7-bit; \'hh and \u carry the rest
        text = rtf_to_text(source, errors="replace")
        return Result(text=text, properties=_rtf_info(source))


_RTF_FIELD = r"\{\\%s\s+((?:[^{}\\]|\\[^a-z{}]|\\[a-z]+-?\d*\s?)*)\}"
_RTF_CREATED = re.compile(r"\{\\creatim\\yr(\d{4})\\mo(\d{1,2})\\dy(\d{1,2})")


def _rtf_info(source: str) -> dict:
    """Title, author and creation date from the RTF \\info group."""
    from striprtf.striprtf import rtf_to_text

    head = source[:65536]
    properties = {}
    for key, word in (("title", "title"), ("author", "author")):
        match = re.search(_RTF_FIELD % word, head)
        if match:
            try:
                value = rtf_to_text("{\\rtf1 " + match.group(1) + "}", errors="replace").strip()
            except Exception:  # a damaged \info group only costs us the property
                value = ""
            if value:
                properties[key] = tidy_title(value) if key == "title" else value
    created = _RTF_CREATED.search(head)
    if created:
        properties["date"] = iso_date("%04d-%02d-%02d" % tuple(int(g) for g in created.groups()))
    return properties
