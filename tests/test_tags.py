"""Tags are one tag however their case is written, and the database holds each once."""
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.models import Tag
from kb.services import resources
from kb.services.rows import folded
from tests.factories import make_resource


def test_spellings_that_differ_only_in_case_are_one_tag(app, make_user):
    editor = make_user("editor")
    first = make_resource(editor, tags="Water Supply, Straße,  ឃុំ  សង្កាត់ ")
    second = make_resource(editor, tags="WATER  supply, STRASSE, ឃុំ សង្កាត់, water supply")
    assert [t.name for t in first.tags] == ["Straße", "Water Supply", "ឃុំ សង្កាត់"]
    assert {t.id for t in second.tags} == {t.id for t in first.tags}
    assert db.session.scalar(select(db.func.count()).select_from(Tag)) == 3


def test_the_database_refuses_a_second_spelling(app):
    db.session.add(Tag(name="Budget", name_key=folded("Budget")))
    db.session.commit()
    db.session.add(Tag(name="BUDGET", name_key=folded("BUDGET")))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("raw, names", [
    ("a, A, a ", ["a"]),
    (["Khmer", " khmer ", "KHMER"], ["Khmer"]),
    ("ភាពជាដៃគូ,ភាពជាដៃគូ", ["ភាពជាដៃគូ"]),
    ("", []),
])
def test_parse_tags_keeps_the_first_spelling(app, raw, names):
    assert [t.name for t in resources.parse_tags(raw)] == names
