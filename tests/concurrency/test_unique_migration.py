"""The migration that makes the database refuse duplicates, run on a database where earlier
races left some: tags spelled alike but for case, one file stored twice, a resource twice in a
workshop with repeated positions. It keeps every user's data."""
from __future__ import annotations

import json
from io import BytesIO

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from kb.extensions import db
from kb.models import (ExtractionState, Resource, ResourceFile, Tag, WorkshopItem,
                       resource_tags)
from kb.services import indexing, ingestion, workshops
from kb.services.worker import stop_worker, worker_for
from tests.conftest import run_kb
from tests.factories import make_resource

BEFORE = "ce2ebb209d32"  # the revision before unique tags, checksums and workshop items


def raw_insert(table: str, row: dict) -> int:
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    db.session.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)
    return db.session.scalar(text(f"SELECT max(id) FROM {table}"))


def test_the_migration_merges_what_races_left(app, make_user):
    editor = make_user("editor")
    first = make_resource(editor, editor, title="Water committee guide", tags="Water")
    second = make_resource(editor, editor, title="Sanitation plan", tags="Sanitation")
    ingestion.add_files(editor, first, [ingestion.Upload("guide.txt", BytesIO(b"guide\n" * 30))])
    workshop = workshops.create_workshop(editor, {"title": "Water day"})
    workshops.add_item(editor, workshop, first.id, {"note": "Read aloud"})
    ids = {"first": first.id, "second": second.id, "workshop": workshop.id}
    (original,) = [(f.id, f.sha256) for f in first.files]
    db.session.remove()
    stop_worker(app)  # migrations are run with the application stopped, as `kb init` is

    directory = app.extensions["migrate"].directory
    downgrade(directory=directory, revision=BEFORE)
    # What concurrent requests could store before the database refused it:
    water_upper = raw_insert("tags", {"name": "WATER"})
    water_lower = raw_insert("tags", {"name": "water"})
    for resource, tag in (("second", water_upper), ("first", water_lower)):
        db.session.execute(insert(resource_tags).values(resource_id=ids[resource], tag_id=tag))
    copy = dict(db.session.execute(text("SELECT * FROM resource_files WHERE id = :id"),
                                   {"id": original[0]}).mappings().one())
    copy.pop("id")
    copy["resource_id"] = ids["second"]
    if not isinstance(copy["properties"], str):  # PostgreSQL's JSON comes back parsed
        copy["properties"] = json.dumps(copy["properties"])
    copy_id = raw_insert("resource_files", copy)
    for note, duration in (("Bring printed copies", 30), ("", None)):
        raw_insert("workshop_items", {"workshop_id": ids["workshop"], "resource_id": ids["first"],
                                      "position": 1, "session": "", "start_time": "",
                                      "duration_minutes": duration, "note": note})
    raw_insert("workshop_items", {"workshop_id": ids["workshop"], "resource_id": ids["second"],
                                  "position": 1, "session": "Morning", "start_time": "09:00",
                                  "duration_minutes": None, "note": ""})
    db.session.commit()
    upgrade(directory=directory)
    db.session.remove()

    # One tag "Water" (the oldest spelling), which each resource has once, with its others.
    waters = list(db.session.scalars(select(Tag).where(Tag.name_key == "water")))
    assert [t.name for t in waters] == ["Water"]
    assert [t.name for t in db.session.get(Resource, ids["first"]).tags] == ["Water"]
    assert [t.name for t in db.session.get(Resource, ids["second"]).tags] == \
        ["Sanitation", "Water"]
    assert db.session.scalar(select(Tag).where(Tag.name.in_(["WATER", "water"]))) is None

    # Both files kept; the copy is marked, listed by `kb check`, and left out of the index.
    files = {f.id: f for f in db.session.scalars(select(ResourceFile).where(
        ResourceFile.sha256 == original[1]))}
    assert sorted(files) == [original[0], copy_id]
    assert not files[original[0]].legacy_duplicate and files[copy_id].legacy_duplicate
    report = indexing.check()
    assert report.duplicate_files == [copy_id]
    assert any(f"({copy_id})" in line for line in report.lines() if line.startswith("Note"))

    # One item per resource, the first one with what the copies said; positions 1..n.
    rows = list(db.session.scalars(select(WorkshopItem).where(
        WorkshopItem.workshop_id == ids["workshop"]).order_by(WorkshopItem.position)))
    assert [(r.position, r.resource_id) for r in rows] == [(1, ids["first"]),
                                                           (2, ids["second"])]
    assert rows[0].note == "Read aloud\n\nBring printed copies"
    assert rows[0].duration_minutes == 30
    assert (rows[1].session, rows[1].start_time) == ("Morning", "09:00")

    # From now on the database itself refuses each kind of duplicate.
    for table, row in (
            ("tags", {"name": "wATER", "name_key": "water"}),
            ("workshop_items", {"workshop_id": ids["workshop"], "resource_id": ids["first"],
                                "position": 3, "session": "", "start_time": "", "note": ""}),
            ("resource_files", {**copy, "legacy_duplicate": False})):
        with pytest.raises(IntegrityError):
            raw_insert(table, row)
        db.session.rollback()


def test_kb_check_lists_old_duplicates_but_still_agrees(app, instance, make_user):
    """A marked copy is reported, not a fault: `kb check` still exits 0."""
    editor = make_user("editor")
    first = make_resource(editor, editor, title="Minutes")
    second = make_resource(editor, editor, title="Minutes again")
    ingestion.add_files(editor, first, [ingestion.Upload("m.txt", BytesIO(b"minutes\n" * 30))])
    (stored,) = first.files
    copy = ResourceFile(resource=second, original_name="m.txt", size=stored.size,
                        sha256=stored.sha256, content_type=stored.content_type,
                        extraction_state=ExtractionState.OK, legacy_duplicate=True)
    db.session.add(copy)
    db.session.commit()
    assert worker_for(app).drain(timeout=120)  # the first file read...
    indexing.flush()  # ...and its resource indexed (after the worker's own flush, if any)
    result = run_kb(instance, "check",
                    env={"KB_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    assert result.exit_code == 0, result.output
    assert f"kept (file ids): 1 ({copy.id})" in result.output
