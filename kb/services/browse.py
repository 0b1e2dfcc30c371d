"""Browsing the collection by objective, kind, organisation and place, and what is new.

Every listing here is of published resources the reader may see (the access module's rule, in
SQL), newest first, so a browse page never shows more than the search would.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import (Commune, District, Objective, Organisation, Province, Resource,
                       ResourceKind, Status, resource_objectives)
from kb.services import access
from kb.services.errors import NotFound

PER_PAGE = 20
MAX_PAGE = 10_000  # beyond any real collection; keeps the SQL offset a sane number
BEST_PRACTICE = "best_practice"


@dataclass
class PlaceCount:
    """A province, district or commune with how many best practices the reader may see there."""
    place: Province | District | Commune
    count: int


def _visible(user):
    """Published resources `user` may see, newest published first."""
    return (select(Resource)
            .where(Resource.status == Status.PUBLISHED, access.visible_resources_clause(user))
            .options(selectinload(Resource.kind), selectinload(Resource.objectives),
                     selectinload(Resource.organisation), selectinload(Resource.files))
            .order_by(Resource.published_at.desc(), Resource.id.desc()))


def _page(query, page: int):
    # error_out=False: a page past the end is an empty page, not an abort() from a service.
    return db.paginate(query, page=min(max(1, page), MAX_PAGE), per_page=PER_PAGE,
                       error_out=False)


@dataclass
class Overview:
    """How many resources the reader may see per objective, kind and organisation (by id)."""
    by_objective: dict[int, int]
    by_kind: dict[int, int]
    by_organisation: dict[int, int]


def _counts(user, key, query=None) -> dict:
    """{value of `key`: how many published resources `user` may see have it}; `query` when
    `key` needs a join (it must select key and a count)."""
    query = query if query is not None else select(key, func.count(Resource.id))
    query = query.where(Resource.status == Status.PUBLISHED,
                        access.visible_resources_clause(user)).group_by(key)
    return dict(db.session.execute(query).all())


def overview(user) -> Overview:
    objective_id = resource_objectives.c.objective_id
    by_objective = _counts(user, objective_id, select(objective_id, func.count()).join(
        Resource, Resource.id == resource_objectives.c.resource_id))
    return Overview(by_objective, _counts(user, Resource.kind_id),
                    _counts(user, Resource.organisation_id))


def newest(user, page: int = 1):
    """The newest published resources `user` may see, one page of them."""
    return _page(_visible(user), page)


def _objective(number: int) -> Objective:
    found = db.session.scalar(select(Objective).where(Objective.number == number))
    if found is None:
        raise NotFound(_l("No such objective."))
    return found


def by_objective(user, number: int, page: int = 1):
    """(objective, a page of its resources). Raises NotFound."""
    chosen = _objective(number)
    query = _visible(user).where(Resource.objectives.any(Objective.id == chosen.id))
    return chosen, _page(query, page)


def by_kind(user, code: str, page: int = 1):
    """(kind, a page of resources of that kind). Raises NotFound."""
    kind = db.session.scalar(select(ResourceKind).where(ResourceKind.code == code))
    if kind is None:
        raise NotFound(_l("No such kind of resource."))
    return kind, _page(_visible(user).where(Resource.kind_id == kind.id), page)


def by_organisation(user, short_name: str, page: int = 1):
    """(organisation, a page of its resources); the short name matches in any case.

    Raises NotFound. Organisations taken off the directory keep their page: their resources
    are still there.
    """
    organisation = db.session.scalar(select(Organisation).where(
        func.lower(Organisation.short_name) == short_name.strip().lower()))
    if organisation is None:
        raise NotFound(_l("No such organisation."))
    query = _visible(user).where(Resource.organisation_id == organisation.id)
    return organisation, _page(query, page)


def _best_practices(user):
    return _visible(user).join(ResourceKind, Resource.kind_id == ResourceKind.id).where(
        ResourceKind.code == BEST_PRACTICE)


def _best_practice_counts(user, place_column) -> dict[str, int]:
    """How many visible best practices each place (a province, district or commune code) has."""
    query = (select(place_column, func.count(Resource.id))
             .join(ResourceKind, Resource.kind_id == ResourceKind.id)
             .where(ResourceKind.code == BEST_PRACTICE))
    return _counts(user, place_column, query)


def provinces(user) -> list[PlaceCount]:
    """Every province, with its count of best practices the reader may see."""
    counts = _best_practice_counts(user, Resource.province_code)
    rows = db.session.scalars(select(Province).order_by(Province.code))
    return [PlaceCount(p, counts.get(p.code, 0)) for p in rows]


def _province(code: str) -> Province:
    found = db.session.get(Province, code)
    if found is None:
        raise NotFound(_l("No such province."))
    return found


def _district(province_code: str, code: str) -> District:
    found = db.session.get(District, code)
    if found is None or found.province_code != province_code:
        raise NotFound(_l("No such district."))
    return found


def _commune(district_code: str, code: str) -> Commune:
    found = db.session.get(Commune, code)
    if found is None or found.district_code != district_code:
        raise NotFound(_l("No such commune."))
    return found


@dataclass
class PlacePage:
    """A place, the places inside it with their counts, and a page of its best practices."""
    province: Province
    district: District | None
    commune: Commune | None
    parts: list[PlaceCount]
    practices: object  # a Flask-SQLAlchemy Pagination of Resource

    @property
    def place(self):
        return self.commune or self.district or self.province


def province_page(user, code: str, page: int = 1) -> PlacePage:
    """Raises NotFound."""
    province = _province(code)
    counts = _best_practice_counts(user, Resource.district_code)
    parts = [PlaceCount(d, counts.get(d.code, 0)) for d in province.districts]
    practices = _page(_best_practices(user).where(Resource.province_code == code), page)
    return PlacePage(province, None, None, parts, practices)


def district_page(user, province_code: str, code: str, page: int = 1) -> PlacePage:
    """Raises NotFound, also when the district is not in that province."""
    province = _province(province_code)
    district = _district(province.code, code)
    counts = _best_practice_counts(user, Resource.commune_code)
    parts = [PlaceCount(c, counts.get(c.code, 0)) for c in district.communes]
    practices = _page(_best_practices(user).where(Resource.district_code == code), page)
    return PlacePage(province, district, None, parts, practices)


def commune_page(user, province_code: str, district_code: str, code: str,
                 page: int = 1) -> PlacePage:
    """Raises NotFound, also when the commune is not in that district and province."""
    province = _province(province_code)
    district = _district(province.code, district_code)
    commune = _commune(district.code, code)
    practices = _page(_best_practices(user).where(Resource.commune_code == code), page)
    return PlacePage(province, district, commune, [], practices)
