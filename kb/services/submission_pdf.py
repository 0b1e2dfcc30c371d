"""The compiled submission as PDF (fpdf2), with Khmer shaped by HarfBuzz in the bundled font.

Two things a PDF writer does not do for Khmer are done here:
- line breaking: Khmer is written without spaces between words, so the places where a line may
  break come from ICU's dictionary line breaker (as in a browser), not from the spaces;
- the text behind the glyphs: a shaped Khmer syllable is drawn with glyphs in visual order
  (a vowel sign before its consonant, subscripts after), so mapping glyphs back to characters
  gives scrambled text. Each line is therefore marked with its real text (an /ActualText span,
  PDF 1.5), which copy-and-paste, search and text extraction use.
"""
from __future__ import annotations

import threading

import icu
from fpdf import FPDF

from kb.services import fonts
from kb.services.submission import Compiled, Entry

MM_PER_PT = 25.4 / 72
LEADING = 1.7  # Khmer stacks subscripts and vowels above and below: tall lines
GREY = (85, 85, 85)
_local = threading.local()


def _line_breaker():
    """ICU's Khmer line breaker for this thread (slow to create, unsafe to share)."""
    breaker = getattr(_local, "breaker", None)
    if breaker is None:
        breaker = _local.breaker = icu.BreakIterator.createLineInstance(icu.Locale("km"))
    return breaker


def _clusters():
    breaker = getattr(_local, "clusters", None)
    if breaker is None:
        breaker = _local.clusters = icu.BreakIterator.createCharacterInstance(icu.Locale("km"))
    return breaker


def _pieces(text: str, breaker) -> list[str]:
    """`text` cut at the breaker's boundaries. ICU counts UTF-16 units: map them to indices."""
    breaker.setText(text)
    units = [0]
    for char in text:
        units.append(units[-1] + (2 if ord(char) > 0xFFFF else 1))
    index_of = {unit: index for index, unit in enumerate(units)}
    bounds = [0] + [index_of[b] for b in breaker if b in index_of]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


class _Writer:
    def __init__(self, compiled: Compiled):
        pdf = self.pdf = FPDF(format="A4")
        pdf.set_margins(20, 18, 20)
        pdf.set_auto_page_break(False)  # pages are turned here, outside any marked span
        pdf.add_font("khmer", "", str(fonts.khmer_ttf("regular")))
        pdf.add_font("khmer", "B", str(fonts.khmer_ttf("bold")))
        fallback = fonts.latin_fallback()
        if fallback is not None:
            pdf.add_font("latin", "", str(fallback))
            pdf.set_fallback_fonts(["latin"], exact_match=False)
        pdf.set_text_shaping(True)
        pdf.set_lang(compiled.lang)
        pdf.set_title(compiled.title)
        pdf.set_creator("DDWG knowledge base")
        pdf.add_page()

    def _lines(self, text: str, width: float) -> list[str]:
        lines = []
        for hard in text.split("\n"):
            current = ""
            for piece in _pieces(hard, _line_breaker()):
                candidate = current + piece
                if self.pdf.get_string_width(candidate.rstrip()) <= width:
                    current = candidate
                    continue
                if current.strip():
                    lines.append(current.rstrip())
                current = ""
                # A piece wider than the line (a long link, an unknown word): by clusters.
                for cluster in _pieces(piece, _clusters()):
                    if current and self.pdf.get_string_width(current + cluster) > width:
                        lines.append(current)
                        current = ""
                    current += cluster
            lines.append(current.rstrip())
        return lines

    def text(self, text: str, size: float = 10.5, bold: bool = False, indent: float = 0,
             after: float = 2.0, color: tuple[int, int, int] = (0, 0, 0)) -> None:
        pdf = self.pdf
        pdf.set_font("khmer", "B" if bold else "", size)
        pdf.set_text_color(*color)
        width = pdf.epw - indent
        height = size * MM_PER_PT * LEADING
        for line in self._lines(text.strip(), width):
            if pdf.get_y() + height > pdf.h - pdf.b_margin:
                pdf.add_page()
            pdf.set_x(pdf.l_margin + indent)
            if line:
                pdf._out(f"/Span <</ActualText <FEFF{line.encode('utf-16-be').hex().upper()}>>> "
                         "BDC")
                pdf.cell(width, height, line, new_x="LMARGIN", new_y="NEXT")
                pdf._out("EMC")
            else:
                pdf.ln(height)
        pdf.ln(after)

    def heading(self, text: str, level: int) -> None:
        sizes = {0: 17, 1: 13.5, 2: 11.5}
        if self.pdf.get_y() > self.pdf.h - self.pdf.b_margin - 30:
            self.pdf.add_page()  # never a heading alone at the foot of a page
        self.pdf.ln(2 if level else 0)
        self.text(text, size=sizes[level], bold=True, after=1.5)

    def entry(self, entry: Entry, labels: dict) -> None:
        self.text(entry.text, after=1)
        if entry.proposed_wording:
            self.text(labels["proposed"], bold=True, indent=6, size=9.5, after=0.5)
            self.text(entry.proposed_wording, indent=6, after=1)
        by = f"{labels['by']} {entry.by}" + (f" {labels['personal']}" if entry.personal else "")
        if entry.endorsed_by:
            by += f" · {labels['endorsed']} {', '.join(entry.endorsed_by)}"
        self.text(by, size=8.5, color=GREY, after=3)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def render_pdf(compiled: Compiled) -> bytes:
    labels = compiled.labels
    out = _Writer(compiled)
    out.text(labels["kicker"], size=9, color=GREY, after=1)
    out.heading(compiled.title, 0)
    if compiled.draft_title:
        out.text(f"{labels['draft']} {compiled.draft_title}", size=9.5, after=0.5)
    out.text(f"{labels['period']} {compiled.subtitle}", size=9.5, after=4)
    if compiled.cover_note:
        out.heading(labels["cover_note"], 1)
        for block in compiled.cover_note.split("\n\n"):
            out.text(block)
    if compiled.organisations:
        out.heading(labels["organisations"], 1)
        out.text(", ".join(compiled.organisations))
    if compiled.questions:
        out.heading(labels["questions"], 1)
        for number, part in enumerate(compiled.questions, start=1):
            out.heading(f"{number}. {part.heading}", 2)
            for entry in part.entries:
                out.entry(entry, labels)
            if not part.entries:
                out.text(labels["no_answers"], color=GREY)
    if compiled.general:
        out.heading(labels["general"], 1)
        for entry in compiled.general:
            out.entry(entry, labels)
    if compiled.sections:
        out.heading(labels["sections"], 1)
        for part in compiled.sections:
            out.heading(part.heading, 2)
            if part.excerpt:
                out.text(part.excerpt, size=9, indent=4, color=GREY, after=2)
            for entry in part.entries:
                out.entry(entry, labels)
    return out.output()
