"""Browsing pages: by objective, kind, organisation and place, and what is new.

Each page passes `filters`, the search filters that select the same resources, so the template
links to that search and to its Atom feed with one set of arguments.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request

from kb.services import browse, vocabularies
from kb.views.helpers import viewer

bp = Blueprint("browse", __name__)


MAX_PAGE = 10_000  # far beyond any listing; keeps the OFFSET within what databases take


def _page_number() -> int:
    """The ?page= asked for, within 1..MAX_PAGE (an odd one shows the nearest page)."""
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


@bp.get("/browse")
def index():
    return render_template("browse/index.html", overview=browse.overview(viewer()),
                           objectives=vocabularies.objectives(), kinds=vocabularies.kinds(),
                           organisations=vocabularies.organisations())


@bp.get("/new")
def new():
    resources = browse.newest(viewer(), _page_number())
    return render_template("browse/new.html", resources=resources, filters={})


@bp.get("/objectives/<int:number>")
def objective(number: int):
    chosen, resources = browse.by_objective(viewer(), number, _page_number())
    return render_template("browse/objective.html", objective=chosen, resources=resources,
                           filters={"objective": chosen.number})


@bp.get("/kinds/<code>")
def kind(code: str):
    chosen, resources = browse.by_kind(viewer(), code, _page_number())
    return render_template("browse/kind.html", kind=chosen, resources=resources,
                           filters={"kind": chosen.code})


# Short names may hold a slash ("BDC/CBO"), hence the path converter.
@bp.get("/organisations/<path:short_name>")
def organisation(short_name: str):
    chosen, resources = browse.by_organisation(viewer(), short_name, _page_number())
    return render_template("browse/organisation.html", organisation=chosen,
                           resources=resources, filters={"org": chosen.short_name})


@bp.get("/places")
def places():
    return render_template("browse/places.html", provinces=browse.provinces(viewer()),
                           filters={"kind": browse.BEST_PRACTICE})


@bp.get("/places/<province>")
def province(province: str):
    found = browse.province_page(viewer(), province, _page_number())
    return _place(found, "province", found.province.code)


@bp.get("/places/<province>/<district>")
def district(province: str, district: str):
    found = browse.district_page(viewer(), province, district, _page_number())
    return _place(found, "district", found.district.code)


@bp.get("/places/<province>/<district>/<commune>")
def commune(province: str, district: str, commune: str):
    found = browse.commune_page(viewer(), province, district, commune, _page_number())
    return _place(found, "commune", found.commune.code)


def _place(found: browse.PlacePage, level: str, code: str):
    return render_template("browse/place.html", found=found, level=level,
                           resources=found.practices,
                           filters={"kind": browse.BEST_PRACTICE, level: code})
