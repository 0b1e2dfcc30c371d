"""Which processor handles which content type. Processor modules are imported only in the child
process, and each imports its heavy library only when it runs."""
from __future__ import annotations

import importlib

from kb.ingest.extract.base import Processor

PROCESSORS = {
    "application/pdf": "pdf:PdfProcessor",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
        "ooxml:DocxProcessor",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation":
        "ooxml:PptxProcessor",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "ooxml:XlsxProcessor",
    "application/vnd.oasis.opendocument.text": "odf:OdfProcessor",
    "application/vnd.oasis.opendocument.presentation": "odf:OdfProcessor",
    "application/vnd.oasis.opendocument.spreadsheet": "odf:OdfProcessor",
    "application/rtf": "text:RtfProcessor",
    "text/plain": "text:PlainTextProcessor",
    "text/markdown": "text:MarkdownProcessor",
    "text/html": "text:HtmlProcessor",
    "image/jpeg": "images:ImageProcessor",
    "image/png": "images:ImageProcessor",
    "image/tiff": "images:ImageProcessor",
}

# Names used in error messages ("The file is damaged or not a valid DOCX.").
FORMATS = {
    "application/pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PPTX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.oasis.opendocument.text": "ODT",
    "application/vnd.oasis.opendocument.presentation": "ODP",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
    "application/rtf": "RTF file",
    "text/plain": "text file",
    "text/markdown": "Markdown file",
    "text/html": "HTML file",
    "image/jpeg": "JPEG image",
    "image/png": "PNG image",
    "image/tiff": "TIFF image",
}


def supports(content_type: str) -> bool:
    return content_type in PROCESSORS


def processor_for(content_type: str) -> Processor:
    module_name, class_name = PROCESSORS[content_type].split(":")
    module = importlib.import_module(f"kb.ingest.extract.{module_name}")
    processor = getattr(module, class_name)()
    assert processor.can_process(content_type)
    return processor
