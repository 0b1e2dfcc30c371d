"""The Khmer catalogue is complete, well-formed and compiled, and covers every string in the code.

If one of these fails after you added or changed a user-visible string, run
`scripts/update-translations`, translate the new entries in
kb/translations/km/LC_MESSAGES/messages.po (remove any `#, fuzzy` line once the Khmer is right),
then run `scripts/update-translations` again to compile.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "kb" / "translations"
BABEL_CFG = ROOT / "babel.cfg"
KM_PO = TRANSLATIONS / "km" / "LC_MESSAGES" / "messages.po"
LOCALES = ("km", "en")
# The keywords scripts/update-translations extracts with (on top of Babel's defaults).
EXTRA_KEYWORDS = ("_l", "lazy_gettext")

KHMER = re.compile("[\u1780-\u17ff]")
LETTER = re.compile(r"[^\W\d_]")
# Python %-format placeholders, named (%(name)s) or positional (%s, %5.1f); %% is literal.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]")


# --- checkers (kept separate from the tests so that the tests below can prove they fail) ------

def load_po(path: Path) -> Catalog:
    with open(path, "rb") as handle:
        return read_po(handle)


def placeholders(text: str) -> set[str]:
    return {p for p in PLACEHOLDER.findall(text) if p != "%%"}


def _ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    if isinstance(message.string, (tuple, list)):
        return tuple(message.string)
    return (message.string,)


def needs_khmer(msgid: str) -> bool:
    """Whether there are words to translate once the placeholders are taken out."""
    return bool(LETTER.search(PLACEHOLDER.sub("", msgid)))


def catalogue_problems(catalog: Catalog) -> list[str]:
    """Everything wrong with a Khmer catalogue: untranslated, fuzzy, English left, placeholders."""
    problems = []
    if catalog.num_plurals != 1:
        problems.append(f"Plural-Forms should say nplurals=1 for Khmer, not {catalog.num_plurals}")
    if catalog.fuzzy:
        problems.append("the catalogue header is marked fuzzy")
    for message in catalog:
        if not message.id:
            continue
        ids, strings = _ids(message), _strings(message)
        where = repr(ids[0])
        if message.fuzzy:
            problems.append(f"{where}: marked fuzzy")
        if message.pluralizable and len(strings) != catalog.num_plurals:
            problems.append(f"{where}: {len(strings)} plural forms, Khmer has "
                            f"{catalog.num_plurals}")
        expected = set().union(*(placeholders(i) for i in ids))
        for string in strings:
            if not string or not string.strip():
                problems.append(f"{where}: no translation")
                continue
            if any(needs_khmer(i) for i in ids) and not KHMER.search(string):
                problems.append(f"{where}: translation has no Khmer: {string!r}")
            found = placeholders(string)
            # A singular msgid may leave the number out ("One request"); its plural has them all.
            if found != expected and not (message.pluralizable
                                          and found == placeholders(ids[-1])):
                problems.append(f"{where}: placeholders {sorted(found)} in the translation, "
                                f"{sorted(expected)} in the original")
    return problems


def extract_source(output: Path) -> Catalog:
    """Run `pybabel extract` over the source tree exactly as scripts/update-translations does."""
    args = ["pybabel", "--quiet", "extract", "-F", str(BABEL_CFG), "-o", str(output)]
    for keyword in EXTRA_KEYWORDS:
        args += ["-k", keyword]
    CommandLineInterface().run([*args, str(ROOT)])
    return load_po(output)


def source_path(name: str) -> Path:
    """A location of an extracted message, relative to the repository."""
    return (ROOT / name).resolve().relative_to(ROOT)


def missing_from(catalog: Catalog, template: Catalog) -> list[str]:
    """Messages of the template (the code) that the catalogue lacks, or has with another plural."""
    missing = []
    for message in template:
        if not message.id:
            continue
        ours = catalog.get(message.id, message.context)
        if ours is None or _ids(ours) != _ids(message):
            places = ", ".join(f"{source_path(name)}:{line}" for name, line in message.locations)
            missing.append(f"{_ids(message)!r} ({places})")
    return missing


def mapping(catalog: Catalog) -> dict:
    return {(message.context, _ids(message)): _strings(message) for message in catalog}


def mo_differences(po: Catalog, mo_path: Path) -> list[str]:
    """Where the compiled .mo does not say what compiling the .po says now."""
    fresh = io.BytesIO()
    write_mo(fresh, po)
    fresh.seek(0)
    expected = mapping(read_mo(fresh))
    with open(mo_path, "rb") as handle:
        actual = mapping(read_mo(handle))
    differences = [f"not in the .mo: {key[1][0]!r}" for key in expected.keys() - actual.keys()]
    differences += [f"only in the .mo: {key[1][0]!r}" for key in actual.keys() - expected.keys()]
    differences += [f"different in the .mo: {key[1][0]!r}" for key in expected.keys() & actual.keys()
                    if expected[key] != actual[key]]
    return sorted(differences)


# --- the real catalogues ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def khmer() -> Catalog:
    return load_po(KM_PO)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    return extract_source(tmp_path_factory.mktemp("extract") / "messages.pot")


def test_khmer_catalogue_is_complete_and_well_formed(khmer):
    assert len([m for m in khmer if m.id]) > 100  # the real catalogue, not an empty shell
    problems = catalogue_problems(khmer)
    assert not problems, "Khmer catalogue problems:\n" + "\n".join(problems)


def test_extraction_reads_python_and_templates(extracted):
    files = {source_path(name).parts[0] for message in extracted for name, _ in message.locations}
    assert files == {"kb", "templates"}, f"babel.cfg should read kb/ and templates/ only: {files}"
    for msgid in ("The e-mail address or password is not correct.",  # kb/views/auth.py, _()
                  "Enter a valid e-mail address.",  # kb/services/accounts.py, _l()
                  "Member",  # kb/i18n.py, lazy
                  "DDWG Knowledge Base"):  # templates/base.html
        assert msgid in extracted, f"{msgid!r} was not extracted"
    assert ("%(num)d request to join is waiting." in extracted
            and extracted["%(num)d request to join is waiting."].pluralizable)  # ngettext


def test_every_string_in_the_code_is_in_the_khmer_catalogue(khmer, extracted):
    missing = missing_from(khmer, extracted)
    assert not missing, ("These strings are not in kb/translations/km/LC_MESSAGES/messages.po; "
                         "run scripts/update-translations and translate them:\n"
                         + "\n".join(missing))


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_po(locale):
    po_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing; run scripts/update-translations"
    differences = mo_differences(load_po(po_path), mo_path)
    assert not differences, (f"{mo_path.relative_to(ROOT)} is out of date; run "
                             "scripts/update-translations:\n" + "\n".join(differences))


def test_english_catalogue_covers_the_code(extracted):
    english = load_po(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po")
    assert not missing_from(english, extracted)


def test_the_application_speaks_khmer(tmp_path):
    """Flask-Babel finds the compiled catalogue where the application looks for it."""
    from flask_babel import gettext, ngettext

    from kb import create_app
    from kb.i18n import label
    from kb.models import Role

    app = create_app(config={"TESTING": True}, instance_path=str(tmp_path / "instance"))
    plural = ("%(num)d request to join is waiting.", "%(num)d requests to join are waiting.")
    with app.test_request_context(headers={"Accept-Language": "km"}):
        assert gettext("Sign in") == "ចូលគណនី"
        assert label(Role.MEMBER) == "សមាជិក"
        assert ngettext(*plural, 3) == "មានសំណើសុំចូលរួមចំនួន 3 កំពុងរង់ចាំ។"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert gettext("Sign in") == "Sign in"
        assert ngettext(*plural, 1) == "1 request to join is waiting."
        assert ngettext(*plural, 3) == "3 requests to join are waiting."


# --- the checkers above do catch what they are meant to catch ---------------------------------

def _catalogue(*messages) -> Catalog:
    catalog = Catalog(locale="km", fuzzy=False)
    for msgid, string, *flags in messages:
        catalog.add(msgid, string, flags=flags)
    return catalog


def test_checker_flags_bad_translations():
    bad = _catalogue(
        ("Sign in", ""),  # untranslated
        ("Sign out", "ចាកចេញ", "fuzzy"),  # fuzzy
        ("Save", "Save"),  # English left
        ("Welcome, %(name)s.", "សូមស្វាគមន៍។"),  # placeholder lost
        ("%(name)s is empty.", "%(title)s ទទេ។"),  # placeholder renamed
        (("%(num)d file", "%(num)d files"), ("", )),  # plural untranslated
    )
    problems = "\n".join(catalogue_problems(bad))
    for fragment in ("'Sign in': no translation", "'Sign out': marked fuzzy",
                     "'Save': translation has no Khmer", "'Welcome, %(name)s.': placeholders",
                     "'%(name)s is empty.': placeholders", "'%(num)d file': no translation"):
        assert fragment in problems
    good = _catalogue(("Sign in", "ចូលគណនី"), ("%(name)s: %(reason)s", "%(name)s: %(reason)s"),
                      (("%(num)d file", "%(num)d files"), ("ឯកសារ %(num)d",)))
    assert catalogue_problems(good) == []


def test_checker_flags_strings_missing_from_the_catalogue():
    code = _catalogue(("Sign in", ""), ("A new string", ""),
                      (("%(num)d file", "%(num)d files"), ("",)))
    catalogue = _catalogue(("Sign in", "ចូលគណនី"), ("%(num)d file", "ឯកសារ"))
    missing = "\n".join(missing_from(catalogue, code))
    assert "A new string" in missing and "%(num)d files" in missing  # plural form added later
    assert "Sign in" not in missing


def test_checker_flags_a_stale_mo(tmp_path, khmer):
    stale = tmp_path / "messages.mo"
    with open(stale, "wb") as handle:
        write_mo(handle, khmer)
    assert mo_differences(khmer, stale) == []
    changed = load_po(KM_PO)
    changed["Sign in"].string = "ចូល"
    changed.add("A new string", "ខ្សែអក្សរថ្មី")
    differences = "\n".join(mo_differences(changed, stale))
    assert "different in the .mo: 'Sign in'" in differences
    assert "not in the .mo: 'A new string'" in differences
