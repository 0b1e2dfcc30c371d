"""Dividing drafts into sections: a real Khmer draft and a real English one (the Universal
Declaration of Human Rights, from ../shared/data), and the rules on small made-up texts."""
from __future__ import annotations

import io

import pytest

from kb.ingest.khmer import normalise_khmer
from kb.ingest.sections import divide, division_text, parse_division
from kb.services import consultations, ingestion, processing
from kb.services.ingestion import Upload
from tests.conftest import SHARED_DATA
from tests.consultations.conftest import open_consultation, publish_draft, udhr_text

ENGLISH_PDF = SHARED_DATA / "office-docs" / "khmer" / "udhr_Latn.ENG_Serif_12.pdf"
KHMER_DIGITS = "០១២៣៤៥៦៧៨៩"


def khmer_number(n: int) -> str:
    return "".join(KHMER_DIGITS[int(d)] for d in str(n))


def test_a_real_khmer_draft_is_divided_into_its_articles(people):
    draft = publish_draft(people["editor"], udhr_text("khm"), title="សេចក្ដីប្រកាសជាសកល",
                          language="km", name="udhr-km.txt")
    consultation = open_consultation(people["editor"], draft)
    sections = consultation.sections
    assert consultation.language == "km"
    assert [s.anchor for s in sections] == ["intro", "preamble"] + [
        f"article-{n}" for n in range(1, 31)]
    assert [s.heading for s in sections[2:]] == [f"មាត្រា {khmer_number(n)}"
                                                for n in range(1, 31)]
    # The draft's text is as the extractor keeps it (Khmer normalised: subscript DA as TA).
    assert sections[0].text.startswith(normalise_khmer("សេចក្ដីប្រកាសជាសកលស្ដីពីសិទ្ធិមនុស្ស"))
    assert "បោះឆ្នោត" in sections[22].text  # article 21: taking part in government, elections
    assert all(s.text for s in sections)


def test_a_real_english_pdf_draft_is_divided_into_its_articles(people):
    resource = ingestion.contribute(
        people["editor"], {"title": "Universal Declaration of Human Rights",
                           "kind": "reform_document", "language": ["en"],
                           "visibility": "public"},
        [Upload(ENGLISH_PDF.name, io.BytesIO(ENGLISH_PDF.read_bytes()))], publish=True,
        process=False)
    processing.process_files([f.id for f in resource.current_files])
    consultation = open_consultation(people["editor"], resource)
    anchors = [s.anchor for s in consultation.sections]
    assert anchors[:3] == ["intro", "preamble", "article-1"] and anchors[-1] == "article-30"
    assert len(anchors) == 32
    article_21 = next(s for s in consultation.sections if s.anchor == "article-21")
    assert article_21.heading == "Article 21" and "government of his country" in \
        " ".join(article_21.text.split())


@pytest.mark.parametrize("text, anchors", [
    ("1. Purpose\nWhy.\n2. Scope\nWhat.\n2.1 Communes\nWho.", ["s-1", "s-2", "s-2-1"]),
    ("១. គោលបំណង\nហេតុអ្វី\n២. វិសាលភាព\nអ្វី", ["s-1", "s-2"]),
    ("ជំពូកទី ១\nបទប្បញ្ញត្តិទូទៅ\nមាត្រា ១\nគោលបំណង\nមាត្រា ២\nវិសាលភាព",
     ["intro", "article-1", "article-2"]),
    ("ជំពូក ១\nទូទៅ\nមាត្រា ១\nក\nជំពូក ២\nខ\nមាត្រា ១\nគ",
     ["chapter-1", "article-1", "chapter-2", "article-1-2"]),
    ("Chapter I\nGeneral\nArticle 1\nA.\n1. First point\n2. Second point\nArticle 2\nB.",
     ["chapter-i", "article-1", "article-2"]),
    ("Part of the plan is new.\n\nThe council meets.\n\nCitizens comment.",
     ["p-1", "p-2", "p-3"]),
    ("", []),
])
def test_division_rules(text, anchors):
    assert [s.anchor for s in divide(text)] == anchors


def test_the_editors_division_round_trips():
    found = divide("Article 1\nOne.\nArticle 2\nTwo.\n")
    assert division_text(found) == "## Article 1\nOne.\n\n## Article 2\nTwo.\n"
    again = parse_division(division_text(found))
    assert [(s.anchor, s.heading, s.text) for s in again] == \
        [(s.anchor, s.heading, s.text) for s in found]
    custom = parse_division("Intro words\n## មាត្រា ៣\nបី\n### not a marker\n## \nUntitled")
    assert [(s.anchor, s.heading) for s in custom] == [
        ("intro", ""), ("article-3", "មាត្រា ៣"), ("p-3", "")]
    assert "### not a marker" in custom[1].text


def test_redividing_keeps_sections_that_have_responses(people, draft):
    from kb.services import responses
    from kb.services.errors import Conflict

    consultation = open_consultation(people["editor"], draft)
    article_2 = consultation.sections[2]
    responses.respond(people["card"], consultation, {"text": "x", "section_id": article_2.id})
    with pytest.raises(Conflict):
        consultations.redivide(people["editor"], consultation, "## Article 1\nOnly one.")
    consultations.redivide(people["editor"], consultation,
                           "## Article 2\nEach council publishes.\n## Article 9\nNew.")
    assert [(s.id == article_2.id, s.anchor) for s in consultation.sections] == [
        (True, "article-2"), (False, "article-9")]
    assert consultation.responses[0].section.text == "Each council publishes."
