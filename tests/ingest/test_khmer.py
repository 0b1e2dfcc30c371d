"""Khmer normalisation: SIL's encoding-order variants, invisible characters, idempotence, and
the repair of visual-order text from PDFs."""
from __future__ import annotations

import difflib
import importlib.util
import sys
from pathlib import Path

import pytest

from kb.ingest.khmer import (contains_khmer, khmer_ratio, looks_visual_order, normalise_khmer,
                             repair_visual_order)

from .conftest import NEWS, OFFICE, SIL_VARIANTS, needs_data, syllable_recall, udhr_khmer_text

# Lines of bad_kh.txt (1-based) that spell the same word; every other line is its own word.
SAME_WORD = [
    (1, 2, 3, 4),                      # ស៊ី: -u + ii for the shifter, the wrong shifter
    (5, 6, 7, 8),                      # ម៉ី
    (9, 10), (11, 12),                 # subscript DA / TA look alike
    (13, 14),                          # ខ្មែរ: vowel typed before the subscript
    (15, 16, 17, 18, 19, 20, 21, 22),  # ស្ត្រី: subscript RO first, vowel in between
    (23, 24), (25, 26),                # កុំ, ចាំ: sign order
    (27, 28, 29),                      # លោក: េ + ា for ោ, in both orders
    (30, 31, 32, 33),                  # ធ្វើ: េ + ី for ើ
    (34, 35),                          # ម្យ៉ាង: shifter before the subscript
    (36, 37, 38, 39, 40, 41, 42),      # ស្រ៊ី
    tuple(range(43, 56)),              # ស៊ើប
    (56, 57, 58, 60, 61, 62, 63, 64),  # ស៊ាំ (line 59 is a bare ស)
    (65, 66), (67, 68), (69, 70),      # ឡ / ទ្ប, ឫ / ប្ញ, ឬ / ប្ញុ
    (72, 74), (75, 76), (77, 78, 79),  # ឭា / ព្ញា, ឭ / ព្ញ, ឮ / ព្ញុ / ឭុ
    (80, 81), (82, 83, 84, 85),        # ឰ / ព្ឋ, ឱ / ឧិ ឧ៌ ឧ៍
]


@pytest.fixture(scope="module")
def variants() -> list[str]:
    if not SIL_VARIANTS.exists():
        pytest.skip("shared test data not present")
    lines = SIL_VARIANTS.read_text(encoding="utf-8").split("\n")
    lines = [line for line in lines if line]
    assert len(lines) == 85
    return lines


def test_sil_variants_of_one_word_normalise_alike(variants):
    for group in SAME_WORD:
        forms = {normalise_khmer(variants[n - 1]) for n in group}
        assert len(forms) == 1, (group, forms)
        # ...and to the first line, which SIL lists as the correct spelling
        assert forms == {normalise_khmer(variants[group[0] - 1])}


def test_different_words_stay_different(variants):
    grouped = {n for group in SAME_WORD for n in group}
    words = [normalise_khmer(variants[group[0] - 1]) for group in SAME_WORD]
    words += [normalise_khmer(variants[n - 1]) for n in range(1, 86) if n not in grouped]
    assert len(set(words)) == len(words)


def test_correct_spellings_are_kept(variants):
    for n in (1, 5, 13, 23, 25, 27, 30, 34, 43, 56, 65, 67, 69, 80, 82):
        assert normalise_khmer(variants[n - 1]) == variants[n - 1], n
    assert normalise_khmer("ស្ត្រី") == "ស្ត្រី"


def test_normalising_is_idempotent(variants):
    for line in variants:
        once = normalise_khmer(line)
        assert normalise_khmer(once) == once


@needs_data
def test_real_text_is_idempotent_and_barely_changed():
    for article in sorted(NEWS.glob("*_orig.txt"))[:40]:
        text = article.read_text(encoding="utf-8")
        once = normalise_khmer(text)
        assert normalise_khmer(once) == once
        without_zwsp = text.replace("\u200b", "")
        similarity = difflib.SequenceMatcher(None, once, without_zwsp, autojunk=False).ratio()
        assert similarity > 0.97, article.name  # typing errors fixed, the rest untouched
    udhr = udhr_khmer_text()
    assert normalise_khmer(udhr) == udhr


@needs_data
def test_common_typing_errors_in_real_news_are_fixed():
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(NEWS.glob("*_orig.txt")))
    assert "ហេីយ" in text  # typed as េ + ី in the source...
    normal = normalise_khmer(text)
    assert "ហេីយ" not in normal and normal.count("ហើយ") > text.count("ហើយ")
    assert "ស្រ្ត" in text and "ស្រ្ត" not in normal


@pytest.mark.parametrize("raw,expected", [
    ("ខ្មែរ\u200bភាសា", "ខ្មែរភាសា"),           # zero width space
    ("ក\u00adខ", "កខ"),                          # soft hyphen
    ("\ufeffសួស្តី", "សួស្តី"),                  # byte order mark
    ("ក\u17b4ខ\u17b5", "កខ"),                     # invisible inherent vowels
    ("ក\u200cខ", "កខ"),                          # ZWNJ between Khmer letters
    ("ដ\u17c1\u17b8ម", "ដើម"),                    # េ + ី -> ើ
    ("ល\u17c1\u17b6ក", "លោក"),                    # េ + ា -> ោ
    ("ន\u17c1\u17c5", "នៅ"),                      # េ doubled into ៅ
    ("ក\u17b6\u17b6", "កា"),                      # a mark typed twice
    ("ស្រ្ត", "ស្ត្រ"),                            # subscript RO after the other subscript
    ("ឲ្យ", "ឱ្យ"),                                # the two QOO letters used in ឱ្យ
    ("e\u0301cole", "\u00e9cole"),                # NFC for everything else
])
def test_normalisation_rules(raw, expected):
    assert normalise_khmer(raw) == expected


def test_joiners_outside_khmer_are_kept():
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    assert normalise_khmer(family) == family
    assert normalise_khmer("plain text") == "plain text"
    assert normalise_khmer("") == ""


def test_script_detection():
    assert contains_khmer("Report on ឃុំ councils") and not contains_khmer("Report")
    assert khmer_ratio("សួស្តី") == 1.0 and khmer_ratio("hello") == 0.0
    assert khmer_ratio("123 !!") == 0.0
    assert 0.3 < khmer_ratio("ឃុំ abc") < 0.7


@pytest.mark.parametrize("visual,logical", [
    ("េសចក្ដី្របកាស", "សេចក្តីប្រកាស"),
    ("ៃថ្ងទី", "ថ្ងៃទី"),
    ("េដោយ", "ដោយ"),           # PDFs repeat េ before a vowel that already has it
    ("េនៅ", "នៅ"),
    ("សេ្រមច", "សម្រេច"),
    ("ែខធ្នូ", "ខែធ្នូ"),
    ("្រគួសារ", "គ្រួសារ"),
])
def test_visual_order_repair(visual, logical):
    assert repair_visual_order(visual) == normalise_khmer(logical)


def test_visual_order_is_recognised_only_with_evidence():
    visual = "េសចក្ដី្របកាស េដាយេសចក្ដីសេ្រមច ៃថ្ងទី ១០ ែខធ្នូ"
    assert looks_visual_order(visual)
    assert not looks_visual_order(repair_visual_order(visual))
    assert not looks_visual_order("សេចក្ដីប្រកាស ដោយសេចក្ដីសម្រេច ថ្ងៃទី ១០ ខែធ្នូ")
    # one misspelt example in a text about spelling is not evidence
    assert not looks_visual_order("ខ្មែរ (correct) ែខរ្ម (wrong) សេចក្ដី ខែ ថ្ងៃ ប្រកាស")


@needs_data
def test_logical_texts_are_not_taken_for_visual_order():
    assert not looks_visual_order(udhr_khmer_text())
    for article in sorted(NEWS.glob("*_orig.txt")):
        assert not looks_visual_order(article.read_text(encoding="utf-8")), article.name


@needs_data
def test_visual_order_pdf_text_is_repaired():
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(OFFICE / "khmer" / "udhr_Khmr.KHM_Sun-ExtA_12.pdf")
    raw = "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    document.close()
    truth = udhr_khmer_text()
    assert looks_visual_order(raw)
    before = syllable_recall(normalise_khmer(raw), truth)
    after = syllable_recall(repair_visual_order(raw), truth)
    print(f"UDHR Sun-ExtA syllable recall: {before:.3f} as stored, {after:.3f} repaired")
    assert before < 0.9 and after > 0.99


def test_module_needs_nothing_but_the_standard_library():
    source = Path(__file__).resolve().parents[2] / "kb" / "ingest" / "khmer.py"
    spec = importlib.util.spec_from_file_location("khmer_alone", source)
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    spec.loader.exec_module(module)
    assert module.normalise_khmer("ខែ្មរ") == "ខ្មែរ"
    new = set(sys.modules) - before
    assert not any(name.split(".")[0] in ("flask", "kb", "werkzeug") for name in new)
