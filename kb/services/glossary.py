"""The bilingual glossary of the reform's vocabulary, which search uses to expand queries."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.models import GlossaryEntry, Role
from kb.services import audit, rows
from kb.services.errors import PermissionDenied, ValidationError

# (English, Khmer, further variants): the terms of the D&D reform as members write them.
SEED = [
    ("D&D", "វិមជ្ឈការ និងវិសហមជ្ឈការ",
     ["decentralisation and deconcentration", "decentralization and deconcentration",
      "DnD"]),
    ("decentralisation", "វិមជ្ឈការ", ["decentralization"]),
    ("deconcentration", "វិសហមជ្ឈការ", []),
    ("commune council", "ក្រុមប្រឹក្សាឃុំ", ["commune councils", "commune/sangkat council"]),
    ("sangkat council", "ក្រុមប្រឹក្សាសង្កាត់", ["sangkat councils"]),
    ("commune", "ឃុំ", []),
    ("sangkat", "សង្កាត់", []),
    ("NCDD", "គ.ជ.អ.ប",
     ["National Committee for Sub-National Democratic Development",
      "គណៈកម្មាធិការជាតិសម្រាប់ការអភិវឌ្ឍតាមបែបប្រជាធិបតេយ្យនៅថ្នាក់ក្រោមជាតិ"]),
    ("sub-national administration", "រដ្ឋបាលថ្នាក់ក្រោមជាតិ",
     ["SNA", "subnational administration", "sub-national administrations"]),
    ("sub-national democratic development", "ការអភិវឌ្ឍតាមបែបប្រជាធិបតេយ្យនៅថ្នាក់ក្រោមជាតិ",
     ["SNDD", "NP-SNDD"]),
    ("district/municipality", "ស្រុក/ក្រុង", ["district and municipality",
                                              "districts and municipalities"]),
    ("CSO", "អង្គការសង្គមស៊ីវិល", ["civil society organisation", "civil society organization",
                                    "civil society organisations"]),
    ("CBO", "អង្គការសហគមន៍មូលដ្ឋាន", ["community-based organisation",
                                        "community based organization"]),
    ("IP3", "ផែនការអនុវត្តបីឆ្នាំ", ["three-year implementation plan",
                                      "3-year implementation plan"]),
    ("commune/sangkat fund", "មូលនិធិឃុំ សង្កាត់", ["CSF", "commune sangkat fund"]),
    ("civil society", "សង្គមស៊ីវិល", []),
    ("accountability", "គណនេយ្យភាព", []),
    ("transparency", "តម្លាភាព", []),
    ("local governance", "អភិបាលកិច្ចមូលដ្ឋាន", []),
    ("commune development plan", "ផែនការអភិវឌ្ឍឃុំ", ["CDP"]),
    ("commune investment programme", "កម្មវិធីវិនិយោគឃុំ", ["CIP",
                                                         "commune investment program"]),
]


def seed() -> int:
    """Add the seed entries that are not there yet (an admin's edits are kept), skipping any
    that another process adds at the same moment. Returns the number added."""
    have = {name.casefold() for name in db.session.scalars(select(GlossaryEntry.name_en))}
    missing = [{"name_en": name_en, "name_km": name_km, "variants": "\n".join(variants),
                "note": ""}
               for name_en, name_km, variants in SEED if name_en.casefold() not in have]
    added = rows.insert_missing(GlossaryEntry, missing)
    db.session.commit()
    return added


def entries() -> list[GlossaryEntry]:
    return list(db.session.scalars(select(GlossaryEntry).order_by(
        func.lower(GlossaryEntry.name_en))))


def _require_admin(actor) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only administrators edit the glossary."))


def save(actor, entry: GlossaryEntry | None, data: dict) -> GlossaryEntry:
    """Create (entry=None) or change a glossary entry. Raises ValidationError."""
    _require_admin(actor)
    name_en = " ".join((data.get("name_en") or "").split())[:200]
    name_km = " ".join((data.get("name_km") or "").split())[:200]
    if not name_en:
        raise ValidationError(_l("Enter the English term."), field="name_en")
    clash = db.session.scalar(select(GlossaryEntry).where(
        func.lower(GlossaryEntry.name_en) == name_en.lower()))
    if clash is not None and clash is not entry:
        raise ValidationError(_l("The glossary already has this term."), field="name_en")
    variants = [" ".join(v.split())[:200] for v in (data.get("variants") or "").splitlines()]
    entry = entry or GlossaryEntry()
    entry.name_en, entry.name_km = name_en, name_km
    entry.variants = "\n".join(v for v in variants if v)[:5000]
    entry.note = (data.get("note") or "").strip()[:2000]
    try:
        db.session.add(entry)
        audit.record(actor, "glossary.save", entry, name_en=name_en)
        db.session.commit()
    except IntegrityError as error:  # another admin saved this term a moment ago
        db.session.rollback()
        if not rows.is_unique_violation(error):
            raise
        raise ValidationError(_l("The glossary already has this term."),
                              field="name_en") from None
    return entry


def delete(actor, entry: GlossaryEntry) -> None:
    _require_admin(actor)
    audit.record(actor, "glossary.delete", entry, name_en=entry.name_en)
    db.session.delete(entry)
    db.session.commit()
