"""Khmer text normalisation, shared by extraction and search (so it imports nothing of Flask).

Khmer is typed and stored in many code-point orders that render alike (a vowel typed before a
subscript, -u plus an upper vowel instead of a register shifter, េ+ា instead of ោ, ...). Search
must see one spelling, so every syllable is put in the canonical order of the Unicode standard and
SIL's Khmer encoding structure (base, robat, subscripts with RO last, register shifter, vowel,
signs) and the known look-alike sequences are folded. The approach follows SIL's `khnormal`
(sillsdev/khmer-character-specification); the code here is our own.

PDFs made with some fonts store text in visual order (pre-base vowels and subscript RO before the
consonant); `repair_visual_order` moves them back, and `looks_visual_order` says when to.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise_khmer", "repair_visual_order", "looks_visual_order", "contains_khmer",
           "khmer_ratio"]

COENG = "\u17D2"
RO = "\u179A"
ZWNJ, ZWJ = "\u200C", "\u200D"
SHIFTERS = "\u17C9\u17CA"  # MUUSIKATOAN (to a-series), TRIISAP (to o-series)
MUUSIKATOAN, TRIISAP = SHIFTERS

# Invisible characters that carry nothing for search: zero width space, soft hyphen, BOM / zero
# width no-break space, word joiner and the two invisible "inherent vowel" letters.
_INVISIBLE = re.compile("[\u200B\u00AD\uFEFF\u2060\u17B4\u17B5]")
# Deprecated or duplicate code points, replaced as the Unicode standard recommends.
_DEPRECATED = str.maketrans({
    "\u17A3": "\u17A2",             # QAQ -> QA
    "\u17A4": "\u17A2\u17B6",       # QAA -> QA + AA
    "\u17A8": "\u17A7\u1780",       # QUK -> QU + KA
    "\u17D8": "\u17D4\u179B\u17D4",  # BEYYAL -> KHAN LO KHAN
    "\u17B2": "\u17B1",             # QOO TYPE TWO (as in ឲ្យ) -> QOO TYPE ONE (ឱ្យ)
})

_KHMER_CHAR = re.compile("[\u1780-\u17FF\u19E0-\u19FF]")
_KHMER_LETTER = re.compile("[\u1780-\u17D3\u17DD]")

# Categories, in canonical order within a syllable.
ROBAT, SUBSCRIPT, SHIFT, V_PRE, V_BELOW, V_ABOVE, V_POST, SIGN, FINAL = range(1, 10)


def _is_base(ch: str) -> bool:
    return "\u1780" <= ch <= "\u17A2" or "\u17A5" <= ch <= "\u17B3"


def _category(ch: str) -> int | None:
    """Category of a combining Khmer character, None if it does not continue a syllable."""
    o = ord(ch)
    if o == 0x17CC:
        return ROBAT
    if o == 0x17D2:
        return SUBSCRIPT
    if o in (0x17C9, 0x17CA):
        return SHIFT
    if 0x17BE <= o <= 0x17C5:
        return V_PRE  # vowels with a part written before the base (ើ ឿ ៀ េ ែ ៃ ោ ៅ)
    if 0x17BB <= o <= 0x17BD:
        return V_BELOW
    if 0x17B7 <= o <= 0x17BA:
        return V_ABOVE
    if o == 0x17B6:
        return V_POST
    if o == 0x17C6 or o == 0x17CB or 0x17CD <= o <= 0x17D1 or o in (0x17D3, 0x17DD):
        return SIGN
    if o in (0x17C7, 0x17C8):
        return FINAL
    return None


# Consonants by how they take a register shifter: those with an o-series partner or a sibilant
# take TRIISAP, the sonorants take MUUSIKATOAN, BA takes both (ប៉ and ប៊ are different sounds).
_TRIISAP_TAKERS = frozenset(
    "\u1780\u1781\u1782\u1783\u1785\u1786\u1787\u1788\u178A\u178B\u178C\u178D\u178F\u1790\u1791"
    "\u1792\u1795\u1796\u1797\u179E\u179F\u17A0\u17A2")
BA = "\u1794"
_UPPER = frozenset("\u17B7\u17B8\u17B9\u17BA\u17BE\u17BF\u17DD\u17D0")
# Vowels that already contain the pre-base part េ.
_WITH_E = frozenset("\u17BE\u17BF\u17C0\u17C4\u17C5")
# Look-alike spellings of independent vowels (typed with legacy fonts): (base, subscript) -> letter.
_LOOKALIKE_SUBSCRIPT = {
    ("\u1791", "\u1794"): "\u17A1",  # ទ្ប -> ឡ
    ("\u1794", "\u1789"): "\u17AB",  # ប្ញ -> ឫ
    ("\u1796", "\u1789"): "\u17AD",  # ព្ញ -> ឭ
    ("\u1796", "\u178B"): "\u17B0",  # ព្ឋ -> ឰ
}
_WITH_U = {"\u17AB": "\u17AC", "\u17AD": "\u17AE"}  # ឫ+ុ -> ឬ, ឭ+ុ -> ឮ
_QU_LOOKALIKE_MARKS = frozenset("\u17B7\u17CC\u17CD")  # ឧ with ិ ៌ ៍ drawn for ឱ


def contains_khmer(text: str) -> bool:
    """Whether the text has any character of the Khmer blocks."""
    return bool(text) and _KHMER_CHAR.search(text) is not None


def khmer_ratio(text: str) -> float:
    """Share of Khmer among the letters (and vowel signs) of the text; 0.0 without letters."""
    khmer = letters = 0
    for ch in text or "":
        if _KHMER_LETTER.match(ch):
            khmer += 1
            letters += 1
        elif ch.isalpha() or unicodedata.category(ch).startswith("M"):
            letters += 1
    return khmer / letters if letters else 0.0


def normalise_khmer(text: str) -> str:
    """NFC, invisible characters removed, and every Khmer syllable in one canonical spelling."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    if not contains_khmer(text):
        return text
    text = text.translate(_DEPRECATED)
    return _TOKEN.sub(_token, text)


_BASES = "\u1780-\u17A2\u17A5-\u17B3"
_MARKS = "\u17B6-\u17D1\u17D3\u17DD"
# A syllable: a base and everything that attaches to it (joiners included, sorted out later);
# or a run of joiners outside any syllable.
_TOKEN = re.compile(
    f"[{_BASES}](?:[{_MARKS}]|\u17D2[\u17D2\u200C\u200D]*[{_BASES}]?"
    f"|[\u200C\u200D]+(?=[{_MARKS}\u17D2]))*"
    f"|[\u200C\u200D]+")


def _token(match: re.Match) -> str:
    token = match.group(0)
    if token[0] in (ZWNJ, ZWJ):
        text, start, end = match.string, match.start(), match.end()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if _KHMER_CHAR.match(before) or _KHMER_CHAR.match(after):
            return ""  # joiners between Khmer syllables change nothing a reader sees
        return token
    if len(token) == 1 or (len(token) == 2 and _plain(token[0], token[1])):
        return token  # nothing to reorder or fold
    units, i = [], 1
    while i < len(token):
        unit, i2 = _next_unit(token, i)
        if unit is None:  # cannot happen for a token the pattern matched; keep the rest
            return _syllable(token[0], units) + token[i:]
        if unit:
            units.append(unit)
        i = i2
    return _syllable(token[0], units)


_SPECIAL_BASES = frozenset("\u1791\u1794\u1796\u17A7\u17AB\u17AD")


def _plain(base: str, mark: str) -> bool:
    return base not in _SPECIAL_BASES and mark not in (COENG, ZWNJ, ZWJ, *SHIFTERS)


def _next_unit(text: str, i: int) -> tuple[str | None, int]:
    """The combining unit at i: a sign, a subscript (COENG + letter), or a shifter with its
    ZWNJ. Returns (None, i) where the syllable ends, ("", i+1) for a joiner dropped inside it."""
    ch = text[i]
    if ch == COENG:
        j = i + 1
        joiner = ""
        if j < len(text) and text[j] == ZWJ:  # marks a final subscript in Middle Khmer: keep
            joiner, j = ZWJ, j + 1
        while j < len(text) and text[j] in (COENG, ZWNJ, ZWJ):  # doubled invisible marks
            j += 1
        if j < len(text) and _is_base(text[j]):
            return COENG + joiner + text[j], j + 1
        return COENG, j
    if ch in SHIFTERS:
        if i + 1 < len(text) and text[i + 1] == ZWNJ:  # asks for the alternate shifter glyph
            return ch + ZWNJ, i + 2
        return ch, i + 1
    if ch in (ZWNJ, ZWJ):
        following = text[i + 1] if i + 1 < len(text) else ""
        if following and _category(following) is not None:
            return "", i + 1
        return None, i
    if _category(ch) is not None:
        return ch, i + 1
    return None, i


def _unit_category(unit: str) -> int:
    return _category(unit[0])


def _order(units: list[str]) -> list[str]:
    """Stable sort by category; subscript RO after the other subscripts."""
    def key(item):
        index, unit = item
        cat = _unit_category(unit)
        ro_last = 1 if cat == SUBSCRIPT and unit[-1] == RO else 0
        return (cat, ro_last, index)
    ordered = [u for _, u in sorted(enumerate(units), key=key)]
    deduped: list[str] = []
    for unit in ordered:
        if deduped and deduped[-1] == unit:
            continue  # a mark typed twice
        deduped.append(unit)
    return deduped


def _series(base: str, units: list[str]) -> str:
    letters = [base] + [u[-1] for u in units if _unit_category(u) == SUBSCRIPT]
    if BA in letters:
        return "ba"
    return "triisap" if any(c in _TRIISAP_TAKERS for c in letters) else "muusikatoan"


def _syllable(base: str, units: list[str]) -> str:
    units = _order(units)
    for _ in range(3):  # rewrites can expose another; three rounds reach a fixed point
        base, changed = _rewrite(base, units)
        units = _order(units)
        if not changed:
            break
    return base + "".join(units)


def _rewrite(base: str, units: list[str]) -> tuple[str, bool]:
    """One round of in-place fixes on a sorted syllable. Returns the (new) base and whether
    anything changed."""
    before = (base, list(units))
    marks = [u for u in units if _unit_category(u) != SUBSCRIPT]
    subs = [u for u in units if _unit_category(u) == SUBSCRIPT]

    # Look-alike spellings of independent vowels.
    if subs and (base, subs[0][-1]) in _LOOKALIKE_SUBSCRIPT and len(subs[0]) == 2:
        base = _LOOKALIKE_SUBSCRIPT[(base, subs[0][-1])]
        units.remove(subs[0])
    if base in _WITH_U and "\u17BB" in units:
        units.remove("\u17BB")
        base = _WITH_U[base]
    if base == "\u17A7" and len(marks) == 1 and marks[0] in _QU_LOOKALIKE_MARKS:
        units.remove(marks[0])
        base = "\u17B1"

    # Split vowels: េ+ី -> ើ, េ+ា -> ោ, េ doubled into a vowel that already has it, ើ+ា -> ោ+ី.
    if "\u17C1" in units:
        if "\u17B8" in units:
            _replace(units, ["\u17C1", "\u17B8"], ["\u17BE"])
        elif "\u17B6" in units:
            _replace(units, ["\u17C1", "\u17B6"], ["\u17C4"])
        elif any(u in _WITH_E for u in units):
            units.remove("\u17C1")
    if "\u17BE" in units and "\u17B6" in units:
        _replace(units, ["\u17BE", "\u17B6"], ["\u17C4", "\u17B8"])

    # -u written under an upper vowel is the register shifter drawn in its lowered form.
    has_upper = any(u in _UPPER for u in units) or ("\u17B6" in units and "\u17C6" in units)
    shifter = next((u for u in units if _unit_category(u) == SHIFT), None)
    series = _series(base, units)
    if has_upper and "\u17BB" in units and shifter is None:
        units[units.index("\u17BB")] = TRIISAP if series == "triisap" else MUUSIKATOAN
    elif has_upper and shifter is not None and series != "ba":
        # Before an upper vowel both shifters look the same; keep the one the consonant takes.
        wanted = TRIISAP if series == "triisap" else MUUSIKATOAN
        units[units.index(shifter)] = wanted + shifter[1:]

    # Subscript DA and TA are drawn alike; one spelling (TA) for search, as SIL does.
    for k, unit in enumerate(units):
        if unit == COENG + "\u178A":
            units[k] = COENG + "\u178F"
    return base, (base, units) != before


def _replace(units: list[str], old: list[str], new: list[str]) -> None:
    position = units.index(old[0])
    for item in old:
        units.remove(item)
    units[position:position] = new


# --- Visual order -------------------------------------------------------------------------

_PRE_VOWELS = "\u17C1\u17C2\u17C3"
_BASE_CLASS = "\u1780-\u17A2\u17A5-\u17B3"
# A pre-base vowel and/or subscript RO stored before the consonant they belong to.
_VISUAL_CLUSTER = re.compile(
    f"([{_PRE_VOWELS}]?)((?:{COENG}{RO})?)([{_BASE_CLASS}])")
# Evidence of visual order, which logical order does not produce: such a prefix where no
# syllable can continue (text start, space, non-Khmer), and a pre-base vowel right before
# subscript RO. (េ before a consonant with ោ, as in េដោយ, is no evidence: ទេដោយ is logical.)
_VISUAL_EVIDENCE = re.compile(
    f"(?:^|(?<=[^\u1780-\u17D3\u17DD]))(?:[{_PRE_VOWELS}]|{COENG}{RO})(?=[{_BASE_CLASS}]"
    f"|{COENG}{RO}[{_BASE_CLASS}])"
    f"|[{_PRE_VOWELS}]{COENG}{RO}(?=[{_BASE_CLASS}])",
    re.MULTILINE)
_PRE_OR_RO = re.compile(f"[{_PRE_VOWELS}]|{COENG}{RO}")


def looks_visual_order(text: str) -> bool:
    """Whether the text stores pre-base vowels / subscript RO before their consonant. Judge a
    whole document at once: one example of a misspelling (as in a text about spelling) must not
    turn a page around."""
    evidence = len(_VISUAL_EVIDENCE.findall(text))
    if evidence < 2:
        return False
    share = evidence / max(len(_PRE_OR_RO.findall(text)), 1)
    return (evidence >= 3 and share >= 0.1) or share >= 0.25


def repair_visual_order(text: str) -> str:
    """Move pre-base vowels (េ ែ ៃ) and subscript RO from before their consonant to after it,
    then normalise. Only for text known to be in visual order (see looks_visual_order)."""
    def move(match: re.Match) -> str:
        vowel, ro, base = match.groups()
        if not vowel and not ro:
            return match.group(0)
        return base + ro + vowel  # normalise_khmer then sorts the whole syllable

    return normalise_khmer(_VISUAL_CLUSTER.sub(move, text))
