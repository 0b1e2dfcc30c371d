"""Consultation fixtures: an editor, members of three organisations, and published drafts whose
text is real (the Universal Declaration of Human Rights in Khmer and in English, read in place
from ../shared/data) or short and made up."""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from kb.services import clock, consultations, ingestion, processing
from kb.services.ingestion import Upload
from tests.conftest import SHARED_DATA

UDHR = SHARED_DATA / "khmer-udhr-text"
UDHR_NS = "{http://efele.net/udhr}"

SHORT_DRAFT = """Draft sub-decree on commune council planning

Article 1
This sub-decree sets how commune councils plan their development.

Article 2
Each commune council shall publish its plan within thirty days.

Article 3
Citizens may comment on the plan before it is adopted.
"""


def udhr_text(language: str) -> str:
    """The declaration's titles and paragraphs, one per paragraph, in document order."""
    root = ET.parse(UDHR / f"udhr_{language}.xml").getroot()
    parts = [el.text.strip() for el in root.iter()
             if el.tag in (UDHR_NS + "title", UDHR_NS + "para") and el.text and el.text.strip()]
    return "\n\n".join(parts)


@pytest.fixture(autouse=True)
def _quick_password_hashing(quick_password_hashing):
    """Many sign-ins here (see tests/conftest.py)."""


@pytest.fixture
def people(make_user):
    return {"editor": make_user("editor"), "card": make_user("member", org="CARD"),
            "cows": make_user("member", org="COWS"), "pact": make_user("member",
                                                                       org="Pact Cambodia"),
            "card2": make_user("contributor", org="CARD"), "loner": make_user("member")}


def publish_draft(editor, text: str, title: str = "Draft sub-decree on commune planning",
                  language: str = "en", visibility: str = "public", name: str = "draft.txt"):
    """A published reform document whose one file holds `text`, read at once."""
    resource = ingestion.contribute(
        editor, {"title": title, "kind": "reform_document", "objectives": ["2"],
                 "language": [language], "visibility": visibility},
        [Upload(name, io.BytesIO(text.encode("utf-8")))], publish=True, process=False)
    processing.process_files([f.id for f in resource.current_files])
    return resource


@pytest.fixture
def draft(app, people):
    return publish_draft(people["editor"], SHORT_DRAFT)


def days(n: int) -> str:
    return (clock.local_today() + timedelta(days=n)).isoformat()


def open_consultation(editor, draft, **data):
    details = {"title": "Commune planning sub-decree", "title_km": "អនុក្រឹត្យស្ដីពីផែនការឃុំ",
               "questions": ["Is thirty days enough?", "Who should be consulted?"],
               "opens": days(-1), "closes": days(10), "visibility": "public", **data}
    return consultations.create_consultation(editor, draft.id, details)


@pytest.fixture
def consultation(draft, people):
    return open_consultation(people["editor"], draft)
