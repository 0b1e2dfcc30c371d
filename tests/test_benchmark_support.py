"""The search-speed benchmark fills its instance with bulk inserts of the rows the services
write: when the models change (the tags' unique folded name did), those inserts must still
make the same resources, or the benchmark measures nothing. Runs a few documents of it."""
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import SHARED_DATA

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
pytestmark = pytest.mark.skipif(not (SHARED_DATA / "scifact-csv").is_dir(),
                                reason="shared data missing")


@pytest.fixture
def support(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _speed_support
    yield _speed_support
    sys.modules.pop("_speed_support", None)


def test_bulk_inserted_resources_are_the_ones_the_services_make(app, support):
    from kb.extensions import db
    from kb.models import Resource, Tag
    from kb.services import indexing
    from kb.services.rows import folded

    abstracts = support.load_abstracts()[:40]
    filler = support.Filler(abstracts, support.tag_pool(abstracts, size=30))
    assert filler.create_with_services(4) > 0   # each checked against the bulk rows
    assert filler.bulk_insert(4, 30) > 0
    assert db.session.scalar(select(func.count()).select_from(Resource)) == 30
    keys = list(db.session.scalars(select(Tag.name_key)))
    assert sorted(keys) == sorted({folded(name) for name in db.session.scalars(select(Tag.name))})
    bulk = db.session.get(Resource, db.session.scalar(select(func.max(Resource.id))))
    assert sorted(t.name for t in bulk.tags) == sorted(filler.spec(29).tags)
    assert indexing.reindex() == 30
