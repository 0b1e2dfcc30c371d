"""Safe XML parsing and the text walkers for WordprocessingML, DrawingML and OpenDocument.

The parser never resolves entities, loads a DTD or touches the network, so a document that
declares `<!ENTITY x SYSTEM "file:///etc/passwd">` yields nothing from that file; libxml2's
default depth and size limits (no huge_tree) stay on.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field

from lxml import etree

MAX_PART_BYTES = 200 * 1024 * 1024


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True,
                           huge_tree=False, remove_comments=True, remove_pis=True,
                           dtd_validation=False)


def parse_xml(data: bytes):
    return etree.fromstring(data, safe_parser())


def zip_xml(archive: zipfile.ZipFile, name: str):
    """The parsed part `name` of an open zip, or None when the zip has no such part."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART_BYTES:
        raise ValueError(f"{name} is too large")
    return parse_xml(archive.read(info))


@dataclass(frozen=True)
class Vocabulary:
    """Which elements of one XML dialect make lines, cells, tabs and breaks."""

    paragraphs: frozenset[str]
    rows: frozenset[str] = frozenset()
    cells: frozenset[str] = frozenset()
    text: frozenset[str] = frozenset()  # elements whose own text is content (OOXML)
    tabs: frozenset[str] = frozenset()
    breaks: frozenset[str] = frozenset()
    spaces: str = ""  # ODF text:s, with a count attribute
    space_count: str = ""
    notes: frozenset[str] = frozenset()  # footnotes/comments: gathered at the end
    skip: frozenset[str] = frozenset()
    mixed: bool = False  # ODF: text and tails of inline elements are content


@dataclass
class Walker:
    """Turns an element tree into lines: one per paragraph, a table row per line with cells
    separated by tabs, text boxes and other blocks nested in a paragraph after it."""

    vocabulary: Vocabulary
    notes: list[str] = field(default_factory=list)

    def lines(self, root) -> list[str]:
        out: list[str] = []
        if root is not None:
            self._blocks(root, out)
        return out

    def _blocks(self, element, out: list[str]) -> None:
        v = self.vocabulary
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag in v.skip:
                continue
            if tag in v.paragraphs or tag in v.rows:
                self._block(child, out)
            elif tag in v.notes:
                self._blocks(child, self.notes)
            else:
                self._blocks(child, out)

    def _block(self, element, out: list[str]) -> None:
        v = self.vocabulary
        if element.tag in v.rows:
            cells = []
            for cell in self._cells(element):
                lines: list[str] = []
                self._blocks(cell, lines)
                text = " ".join(line for line in lines if line)
                if text:
                    cells.append(text)
            if cells:
                out.append("\t".join(cells))
            return
        buffer: list[str] = []
        after: list[str] = []
        self._inline(element, buffer, after)
        line = "".join(buffer).strip()
        if line:
            out.append(line)
        out.extend(after)

    def _cells(self, row):
        v = self.vocabulary
        for child in row:
            if not isinstance(child.tag, str) or child.tag in v.skip:
                continue
            if child.tag in v.cells:
                yield child
            else:  # content controls and custom XML wrap cells in Word
                yield from self._cells(child)

    def _inline(self, element, buffer: list[str], after: list[str]) -> None:
        v = self.vocabulary
        if v.mixed and element.text:
            buffer.append(element.text)
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag in v.skip:  # unresolved entities land here too
                pass
            elif tag in v.text:
                buffer.append(child.text or "")
            elif tag in v.tabs:
                buffer.append("\t")
            elif tag in v.breaks:
                buffer.append("\n")
            elif v.spaces and tag == v.spaces:
                try:
                    count = int(child.get(v.space_count) or 1)
                except ValueError:
                    count = 1
                buffer.append(" " * max(1, min(count, 100)))
            elif tag in v.paragraphs or tag in v.rows:
                self._block(child, after)  # a text box or frame inside the paragraph
            elif tag in v.notes:
                self._blocks(child, self.notes)
            else:
                self._inline(child, buffer, after)
            if v.mixed and child.tail:
                buffer.append(child.tail)


def _ns(uri: str, *names: str) -> frozenset[str]:
    return frozenset(f"{{{uri}}}{name}" for name in names)


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
SVG = "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"

WORD = Vocabulary(
    paragraphs=_ns(W, "p") | _ns(A, "p"),
    rows=_ns(W, "tr") | _ns(A, "tr"),
    cells=_ns(W, "tc") | _ns(A, "tc"),
    text=_ns(W, "t") | _ns(A, "t"),
    tabs=_ns(W, "tab", "ptab"),
    breaks=_ns(W, "br", "cr") | _ns(A, "br"),
    # deleted text, field instructions and the duplicate of every text box kept for old readers
    skip=_ns(W, "del", "delText", "instrText", "rPr", "pPr") | _ns(MC, "Fallback"),
)

DRAWING = Vocabulary(
    paragraphs=_ns(A, "p"),
    rows=_ns(A, "tr"),
    cells=_ns(A, "tc"),
    text=_ns(A, "t"),
    breaks=_ns(A, "br"),
    skip=_ns(MC, "Fallback"),
)

OPENDOCUMENT = Vocabulary(
    paragraphs=_ns(TEXT, "p", "h"),
    rows=_ns(TABLE, "table-row"),
    cells=_ns(TABLE, "table-cell", "covered-table-cell"),
    tabs=_ns(TEXT, "tab"),
    breaks=_ns(TEXT, "line-break"),
    spaces=f"{{{TEXT}}}s",
    space_count=f"{{{TEXT}}}c",
    notes=_ns(TEXT, "note-body") | _ns(OFFICE, "annotation"),
    skip=_ns(TEXT, "note-citation", "tracked-changes", "sequence-decls", "variable-decls",
             "user-field-decls") | _ns(SVG, "title", "desc") | _ns(OFFICE, "forms"),
    mixed=True,
)
