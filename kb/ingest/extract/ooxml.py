"""Word, PowerPoint and Excel files (Office Open XML), through python-docx, python-pptx and
openpyxl. Their XML parsers never resolve entities (lxml with resolve_entities=False; openpyxl
uses defusedxml when it is installed); parts they do not parse go through our safe parser.

The zip is checked for bombs before any of them opens it.
"""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from kb.ingest.extract.base import Job, Result, TextBudget, TypedProcessor, iso_date, tidy_title
from kb.ingest.extract.safezip import check_zip
from kb.ingest.extract.xmltext import DRAWING, WORD, Walker, parse_xml

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

EXTENDED_PROPERTIES = "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}"
# Parts of a Word document, besides the body, whose text belongs to it; in this order.
WORD_PARTS = ("header", "footer", "footnotes", "endnotes", "comments")


def _element(part):
    """The parsed XML of a package part: python-docx/-pptx parse the parts they know, we parse
    the others (footnotes, diagrams) with the safe parser."""
    element = getattr(part, "element", None)
    if element is not None:
        return element
    return parse_xml(part.blob)


def _core(core) -> dict:
    return {
        "title": tidy_title(core.title),
        "author": (core.author or "").strip() or None,
        "date": iso_date(core.created) or iso_date(core.modified),
    }


class DocxProcessor(TypedProcessor):
    content_types = frozenset({DOCX})

    def process(self, path: Path, job: Job) -> Result:
        check_zip(path, "DOCX")
        import docx

        document = docx.Document(str(path))
        walker = Walker(WORD)
        sections = ["\n".join(walker.lines(document.element.body))]
        seen = set()
        rels = [rel for rel in document.part.rels.values() if not rel.is_external]
        for kind in WORD_PARTS:
            for rel in rels:
                if rel.reltype.rsplit("/", 1)[-1] != kind:
                    continue
                part = rel.target_part
                if part.partname in seen:
                    continue
                seen.add(part.partname)
                sections.append("\n".join(walker.lines(_element(part))))
        properties = _core(document.core_properties)
        pages = _app_property(document.part.package, "Pages")
        if pages:
            properties["pages"] = pages
        return Result(text="\n\n".join(s for s in sections if s), properties=properties)


def _app_property(package, name: str) -> int | None:
    """A number from docProps/app.xml (pages, slides), as the authoring program saved it."""
    for part in package.iter_parts():
        if str(part.partname) == "/docProps/app.xml":
            try:
                found = parse_xml(part.blob).find(EXTENDED_PROPERTIES + name)
                return int(found.text) if found is not None and found.text else None
            except (ValueError, TypeError):
                return None
    return None


class PptxProcessor(TypedProcessor):
    content_types = frozenset({PPTX})

    def process(self, path: Path, job: Job) -> Result:
        check_zip(path, "PPTX")
        import pptx

        presentation = pptx.Presentation(str(path))
        walker = Walker(DRAWING)
        budget = TextBudget()
        count = 0
        for slide in presentation.slides:
            count += 1
            lines = walker.lines(slide.element)
            for rel in slide.part.rels.values():  # SmartArt keeps its text in its own part
                if not rel.is_external and rel.reltype.endswith("/diagramData"):
                    lines += walker.lines(_element(rel.target_part))
            if slide.has_notes_slide:
                notes = slide.notes_slide.notes_placeholder
                if notes is not None:
                    lines += walker.lines(notes.element)
            if not budget.add("\n".join(lines)):
                break
        properties = _core(presentation.core_properties)
        properties["pages"] = count
        return Result(text=budget.text("\n\n"), properties=properties)


class XlsxProcessor(TypedProcessor):
    content_types = frozenset({XLSX})

    def process(self, path: Path, job: Job) -> Result:
        check_zip(path, "XLSX")
        from openpyxl import load_workbook

        workbook = load_workbook(str(path), read_only=True, data_only=True)
        budget = TextBudget()
        properties = {}
        try:
            properties = {
                "title": tidy_title(workbook.properties.title),
                "author": (workbook.properties.creator or "").strip() or None,
                "date": iso_date(workbook.properties.created),
            }
            for sheet in workbook.worksheets:
                if not budget.add(sheet.title) or not self._rows(sheet, budget, job):
                    properties["truncated"] = True
                    break
        finally:
            workbook.close()
        return Result(text=budget.text(), properties=properties)

    @staticmethod
    def _rows(sheet, budget: TextBudget, job: Job) -> bool:
        """Add the sheet's non-empty rows; False when out of room or time."""
        sheet.reset_dimensions()  # a declared A1:XFD1048576 must not pad every row
        for number, row in enumerate(sheet.iter_rows(values_only=True)):
            cells = [_cell(value) for value in row if value is not None]
            line = "\t".join(cell for cell in cells if cell)
            if line and not budget.add(line):
                return False
            if number % 2000 == 1999 and job.time_left() < 0:
                return False
        return True


def _cell(value) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
