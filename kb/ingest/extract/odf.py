"""OpenDocument text, presentations and spreadsheets (ODT, ODP, ODS), read straight from the zip
with the safe XML parser: no entity in content.xml is ever resolved (see odt/nasty.odt)."""
from __future__ import annotations

import zipfile
from pathlib import Path

from kb.ingest.extract.base import (ExtractionError, Job, Result, TypedProcessor, iso_date,
                                    tidy_title)
from kb.ingest.extract.safezip import check_zip
from kb.ingest.extract.xmltext import OFFICE, OPENDOCUMENT, TABLE, Walker, zip_xml

ODT = "application/vnd.oasis.opendocument.text"
ODP = "application/vnd.oasis.opendocument.presentation"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
LABELS = {ODT: "ODT", ODP: "ODP", ODS: "ODS"}

STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
DC = "http://purl.org/dc/elements/1.1/"
DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
HEADERS_FOOTERS = tuple(f"{{{STYLE}}}{name}" for name in (
    "header", "header-left", "header-first", "footer", "footer-left", "footer-first"))


class OdfProcessor(TypedProcessor):
    content_types = frozenset(LABELS)

    def process(self, path: Path, job: Job) -> Result:
        label = LABELS.get(job.content_type, "OpenDocument file")
        check_zip(path, label)
        with zipfile.ZipFile(path) as archive:
            content = zip_xml(archive, "content.xml")
            styles = zip_xml(archive, "styles.xml")
            meta = zip_xml(archive, "meta.xml")
        if content is None:
            raise ExtractionError(f"The file is damaged or not a valid {label}.")
        walker = Walker(OPENDOCUMENT)
        body = content.find(f"{{{OFFICE}}}body")
        lines = self._body(body, walker)
        extra = []
        if styles is not None:
            for element in styles.iter(*HEADERS_FOOTERS):
                for line in walker.lines(element):
                    if line not in extra:
                        extra.append(line)
        sections = ["\n".join(lines), "\n".join(extra), "\n".join(walker.notes)]
        properties = _meta(meta)
        if body is not None and job.content_type == ODP:
            properties["pages"] = sum(1 for _ in body.iter(f"{{{DRAW}}}page"))
        return Result(text="\n\n".join(s for s in sections if s), properties=properties)

    @staticmethod
    def _body(body, walker: Walker) -> list[str]:
        if body is None:
            return []
        spreadsheet = body.find(f"{{{OFFICE}}}spreadsheet")
        if spreadsheet is None:
            return walker.lines(body)
        lines = []
        for table in spreadsheet.iter(f"{{{TABLE}}}table"):  # each sheet under its name
            name = table.get(f"{{{TABLE}}}name")
            if name:
                lines.append(name)
            lines.extend(walker.lines(table))
        return lines


def _meta(meta) -> dict:
    if meta is None:
        return {}
    info = meta.find(f"{{{OFFICE}}}meta")
    if info is None:
        return {}

    def value(namespace: str, name: str) -> str | None:
        found = info.find(f"{{{namespace}}}{name}")
        return (found.text or "").strip() or None if found is not None else None

    properties = {
        "title": tidy_title(value(DC, "title")),
        "author": value(META, "initial-creator") or value(DC, "creator"),
        "date": iso_date(value(META, "creation-date")) or iso_date(value(DC, "date")),
    }
    statistics = info.find(f"{{{META}}}document-statistic")
    if statistics is not None and statistics.get(f"{{{META}}}page-count"):
        try:
            properties["pages"] = int(statistics.get(f"{{{META}}}page-count"))
        except ValueError:
            pass
    return properties
