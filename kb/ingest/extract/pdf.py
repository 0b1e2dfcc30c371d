"""PDF: the text layer of every page (pypdfium2, PDFium's own binary), document info, Khmer
visual-order repair, and OCR of pages that have no usable text layer.

PDFium was chosen over pypdf after measuring both on our test files: the same text (including
Khmer), 10-25 times faster, and it renders pages for OCR and thumbnails as well.
"""
from __future__ import annotations

import re
from pathlib import Path

from kb.ingest.extract import ocr
from kb.ingest.extract.base import (ExtractionError, Job, Result, TextBudget, TypedProcessor,
                                    iso_date, tidy_title)
from kb.ingest.khmer import looks_visual_order, repair_visual_order

SPARSE_PAGE_CHARS = 20  # fewer visible characters than this: the page is an image
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")
_KHMER = re.compile("[\u1780-\u17ff]")
_VISIBLE = re.compile(r"\S")


def open_pdf(path: Path):
    """A pypdfium2 document, opened with the empty password if it has one."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise ExtractionError("The PDF is encrypted.") from None
        raise ExtractionError("The file is damaged or not a valid PDF.") from None


def garbled(text: str) -> bool:
    """A text layer whose font has a broken ToUnicode map: subscripts and ligatures come out as
    control characters (seen in wkhtmltopdf Khmer PDFs)."""
    khmer = len(_KHMER.findall(text))
    return khmer >= 50 and len(_CONTROL.findall(text)) > 0.02 * khmer


def visible_chars(text: str) -> int:
    return len(_VISIBLE.findall(_CONTROL.sub("", text)))


class PdfProcessor(TypedProcessor):
    content_types = frozenset({"application/pdf"})

    def process(self, path: Path, job: Job) -> Result:
        document = open_pdf(path)
        try:
            return self._extract(document, job)
        finally:
            document.close()

    def _extract(self, document, job: Job) -> Result:
        properties = _properties(document)
        count = len(document)
        properties["pages"] = count
        texts = [_page_text(document, index) for index in range(count)]

        sparse = [i for i, text in enumerate(texts) if visible_chars(text) < SPARSE_PAGE_CHARS]
        scanned = count > 0 and len(sparse) * 2 >= count
        bad = [i for i, text in enumerate(texts) if garbled(text)]
        wanted = sorted(set(sparse if scanned else []) | set(bad))

        result = Result(properties=properties)
        reason = ocr.unavailable_reason(job) if wanted else None
        done: set[int] = set()
        if wanted and reason is None:
            done = _ocr_pages(document, wanted, texts, job, properties)
            result.ocr_used = bool(done)
            if done:
                properties["ocr_pages"] = len(done)
        # Visual order is a property of how the PDF was made: judge it on all text-layer pages
        # together, and never touch OCR output (Tesseract writes logical order).
        layer = [i for i in range(count) if i not in done]
        visual = looks_visual_order(_CONTROL.sub("", "\n".join(texts[i] for i in layer)))
        budget = TextBudget()
        for index, text in enumerate(texts):
            if visual and index not in done:
                text = repair_visual_order(_CONTROL.sub("", text))
            if not budget.add(text):
                break
        result.text = budget.text("\n\n")
        nearly_empty = visible_chars(result.text) < SPARSE_PAGE_CHARS * count
        if scanned and nearly_empty and reason is not None:
            # Nearly nothing readable: say why (the little text found is still handed back).
            raise ExtractionError(f"No text layer; {reason}", partial=result)
        if scanned and nearly_empty and properties.get("truncated"):
            raise ExtractionError(f"Extraction took longer than {job.timeout:g} s.",
                                  partial=result)
        return result


def _page_text(document, index: int) -> str:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            return textpage.get_text_range() or ""
        finally:
            textpage.close()
    finally:
        page.close()


def _ocr_pages(document, pages: list[int], texts: list[str], job: Job,
               properties: dict) -> set[int]:
    """OCR the given pages while time allows; where OCR reads more than the text layer (or the
    layer is garbled) its text replaces the page's in `texts`. Returns the pages replaced; when
    time ran out first, properties["truncated"] is set and the text layer kept for the rest."""
    replaced = set()
    for attempted, index in enumerate(pages):
        try:
            if attempted and job.time_left() < 2:
                raise ocr.OcrTimeout("")  # hand back what we have rather than be killed
            text = ocr.ocr_image(render_page(document, index, ocr.OCR_DPI), job)
        except ocr.OcrTimeout:
            properties["truncated"] = True
            break
        if garbled(texts[index]) or visible_chars(text) > visible_chars(texts[index]):
            texts[index] = text
            replaced.add(index)
    return replaced


def render_page(document, index: int, dpi: float, max_side: int = ocr.MAX_OCR_SIDE):
    """A page as a greyscale PIL image at dpi, scaled down to max_side pixels at most."""
    page = document[index]
    try:
        width, height = page.get_size()
        scale = dpi / 72
        longest = max(width, height, 1) * scale
        if longest > max_side:
            scale *= max_side / longest
        return page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()


def _properties(document) -> dict:
    try:
        info = document.get_metadata_dict(skip_empty=True)
    except Exception:  # a broken Info dictionary must not cost us the text
        return {}
    return {
        "title": tidy_title(info.get("Title")),
        "author": (info.get("Author") or "").strip() or None,
        "date": iso_date(info.get("CreationDate")) or iso_date(info.get("ModDate")),
    }
