"""The compiled submission: DOCX opened again with python-docx, PDF text extracted again with
pdfium; every visible response in it, Khmer intact, no hidden one; stored as policy_feedback."""
from __future__ import annotations

import io
import zipfile

import docx
import pypdfium2
import pytest

from kb.models import Status
from kb.services import consultations, responses, submission, workflow
from kb.services.errors import Conflict, PermissionDenied
from tests.consultations.conftest import days, open_consultation

# "ស្ដី" with its subscript DA, as people type it: the documents keep it, not a normalised TA.
KHMER_COMMENT = "ក្រុមប្រឹក្សាឃុំត្រូវការពេលវេលាបន្ថែមដើម្បីពិគ្រោះយោបល់ស្ដីពីផែនការជាមួយប្រជាពលរដ្ឋ"
KHMER_WORDING = "ក្រុមប្រឹក្សាឃុំនីមួយៗត្រូវផ្សព្វផ្សាយផែនការរបស់ខ្លួនក្នុងរយៈពេលហុកសិបថ្ងៃ"
ENGLISH_COMMENT = "Plans should also be read aloud at village meetings for those who cannot read."
PACT_COMMENT = "Article 3 should say how citizens' comments are answered."
HIDDEN_COMMENT = "This comment insults a named official and was hidden"


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    return "\n".join(p.text for p in document.paragraphs)


def pdf_text(data: bytes) -> str:
    pdf = pypdfium2.PdfDocument(data)
    return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


def squeeze(text: str) -> str:
    """Extracted text has line breaks where the lines broke: compare without any whitespace."""
    return "".join(text.split())


@pytest.fixture
def closed(consultation, people):
    article = consultation.sections[2]
    question = consultation.questions[0]
    card = responses.respond(people["card"], consultation, {
        "text": KHMER_COMMENT, "section_id": article.id, "proposed_wording": KHMER_WORDING,
        "on_behalf_of_org": True})
    responses.respond(people["cows"], consultation, {
        "text": ENGLISH_COMMENT, "question_id": question.id, "on_behalf_of_org": True})
    responses.respond(people["pact"], consultation, {
        "text": PACT_COMMENT, "section_id": consultation.sections[3].id, "on_behalf_of_org": True})
    responses.endorse(people["pact"], card)
    hidden = responses.respond(people["loner"], consultation, {"text": HIDDEN_COMMENT})
    responses.hide_response(people["editor"], hidden, "Insults a person")
    consultations.update_consultation(people["editor"], consultation,
                                      {"opens": days(-20), "closes": days(-1)})
    consultations.set_cover_note(people["editor"], consultation,
                                 "The members of the working group submit these comments.")
    return consultation


@pytest.mark.parametrize("lang", ["en", "km"])
def test_the_docx_has_every_visible_response_and_no_hidden_one(closed, people, lang):
    data, name, mimetype = submission.export(people["editor"], closed, "docx", lang)
    assert name.endswith(f"-{lang}.docx") and mimetype.endswith("wordprocessingml.document")
    text = docx_text(data)
    for expected in (KHMER_COMMENT, KHMER_WORDING, ENGLISH_COMMENT, PACT_COMMENT, "CARD",
                     "COWS", "Pact Cambodia", "Article 2", "Article 3", "Is thirty days enough?",
                     "The members of the working group submit these comments."):
        assert expected in text, expected
    assert HIDDEN_COMMENT not in text
    heading = "Comments section by section" if lang == "en" else "មតិយោបល់តាមផ្នែកនីមួយៗ"
    assert heading in text
    with zipfile.ZipFile(io.BytesIO(data)) as package:  # the Khmer font travels with it
        assert {"word/fonts/font1.odttf", "word/fonts/font2.odttf"} <= set(package.namelist())
        assert b"Noto Sans Khmer" in package.read("word/fontTable.xml")


@pytest.mark.parametrize("lang", ["en", "km"])
def test_the_pdf_text_comes_back_with_khmer_intact(closed, people, lang):
    data, name, mimetype = submission.export(people["editor"], closed, "pdf", lang)
    assert data.startswith(b"%PDF-") and mimetype == "application/pdf"
    text = squeeze(pdf_text(data))
    for expected in (KHMER_COMMENT, KHMER_WORDING, ENGLISH_COMMENT, PACT_COMMENT, "CARD",
                     "COWS", "PactCambodia", "Article2", "Article3", "Isthirtydaysenough?"):
        assert squeeze(expected) in text, expected
    assert squeeze(HIDDEN_COMMENT) not in text


def test_only_editors_compile_and_only_after_the_deadline(consultation, closed, people):
    with pytest.raises(PermissionDenied):
        submission.export(people["card"], closed, "pdf", "en")
    still_open = open_consultation(people["editor"], closed.resource)
    with pytest.raises(Conflict):
        submission.export(people["editor"], still_open, "docx", "en")


def test_the_submission_is_stored_as_policy_feedback_for_review(closed, people):
    resource = submission.store_submission(people["editor"], closed, "km")
    assert resource.kind.code == "policy_feedback" and resource.status == Status.SUBMITTED
    assert closed.feedback_resource_id == resource.id
    assert sorted(f.original_name.rsplit(".", 1)[1] for f in resource.current_files) == \
        ["docx", "pdf"]
    assert resource.languages == ["km"]
    assert resource in [c.feedback_resource for c in
                        consultations.consultations_about(None, resource)]
    with pytest.raises(Conflict):
        submission.store_submission(people["editor"], closed, "en")
    # The usual review publishes it; the draft's page and its own page link the consultation.
    workflow.approve(people["editor"], resource)
    assert resource.status == Status.PUBLISHED
    assert closed in consultations.consultations_about(None, closed.resource)
