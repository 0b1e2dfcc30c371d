"""Unique tag names (whatever their case), file checksums and workshop items

The database now refuses what the application used to check by reading first (and let through
when two people acted at the same moment). Rows already duplicated are dealt with first, keeping
every user's data:

- tags spelled alike but for case are merged into the oldest one; each resource keeps all its
  tags (the merged tag in place of the others);
- files stored twice (the same sha256) are all kept; every copy but the oldest is marked
  `legacy_duplicate`, left out of the unique index and listed by `kb check`;
- a resource in a workshop twice becomes one item (the first one, with the others' notes and
  times where it had none), and every workshop's positions are renumbered 1..n.

Columns are added with ALTER TABLE ... ADD COLUMN (NOT NULL with a default) rather than a table
rebuild: SQLite cannot rebuild a table that others reference while foreign keys are enforced.

Revision ID: 425f6906fc8d
Revises: ce2ebb209d32
Create Date: 2026-12-01 09:18:19.387159

"""
import unicodedata
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '425f6906fc8d'
down_revision = 'ce2ebb209d32'
branch_labels = None
depends_on = None

tags = sa.table("tags", sa.column("id", sa.Integer), sa.column("name", sa.String),
                sa.column("name_key", sa.String))
resource_tags = sa.table("resource_tags", sa.column("resource_id", sa.Integer),
                         sa.column("tag_id", sa.Integer))
files = sa.table("resource_files", sa.column("id", sa.Integer), sa.column("sha256", sa.String),
                 sa.column("legacy_duplicate", sa.Boolean))
items = sa.table("workshop_items", sa.column("id", sa.Integer),
                 sa.column("workshop_id", sa.Integer), sa.column("resource_id", sa.Integer),
                 sa.column("position", sa.Integer), sa.column("session", sa.String),
                 sa.column("start_time", sa.String), sa.column("duration_minutes", sa.Integer),
                 sa.column("note", sa.Text))


def folded(name: str) -> str:
    """kb.services.rows.folded as it was when this migration was written."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def upgrade():
    bind = op.get_bind()
    _unique_tag_names(bind)
    _unique_file_checksums(bind)
    _unique_workshop_items(bind)


def _unique_tag_names(bind):
    op.add_column("tags", sa.Column("name_key", sa.String(length=300), nullable=False,
                                    server_default=""))
    by_key = defaultdict(list)
    for tag_id, name in bind.execute(sa.select(tags.c.id, tags.c.name).order_by(tags.c.id)):
        by_key[folded(name)].append(tag_id)
    for key, (kept, *others) in by_key.items():
        for other in others:
            have = set(bind.scalars(sa.select(resource_tags.c.resource_id)
                                    .where(resource_tags.c.tag_id == kept)))
            moving = [rid for rid in bind.scalars(sa.select(resource_tags.c.resource_id)
                                                  .where(resource_tags.c.tag_id == other))
                      if rid not in have]
            if moving:
                bind.execute(resource_tags.insert(),
                             [{"resource_id": rid, "tag_id": kept} for rid in moving])
            bind.execute(resource_tags.delete().where(resource_tags.c.tag_id == other))
            bind.execute(tags.delete().where(tags.c.id == other))
        bind.execute(tags.update().where(tags.c.id == kept).values(name_key=key))
    op.create_index("uq_tags_name_key", "tags", ["name_key"], unique=True)


def _unique_file_checksums(bind):
    op.add_column("resource_files", sa.Column("legacy_duplicate", sa.Boolean(), nullable=False,
                                              server_default=sa.false()))
    older = files.alias("older")
    bind.execute(files.update().where(sa.exists().where(
        older.c.sha256 == files.c.sha256, older.c.id < files.c.id)).values(legacy_duplicate=True))
    op.create_index("uq_resource_files_sha256", "resource_files", ["sha256"], unique=True,
                    sqlite_where=sa.text("NOT legacy_duplicate"),
                    postgresql_where=sa.text("NOT legacy_duplicate"))


def _unique_workshop_items(bind):
    agendas = defaultdict(list)
    for row in bind.execute(sa.select(items).order_by(items.c.workshop_id, items.c.position,
                                                      items.c.id)):
        agendas[row.workshop_id].append(row)
    for rows in agendas.values():
        first_of = {}
        kept = []
        for row in rows:
            if row.resource_id not in first_of:
                first_of[row.resource_id] = dict(row._mapping)
                kept.append(first_of[row.resource_id])
                continue
            _merge_item(first_of[row.resource_id], row)
            bind.execute(items.delete().where(items.c.id == row.id))
        for position, item in enumerate(kept, start=1):
            bind.execute(items.update().where(items.c.id == item["id"]).values(
                position=position, session=item["session"], start_time=item["start_time"],
                duration_minutes=item["duration_minutes"], note=item["note"]))
    op.create_index("uq_workshop_items_workshop_id_resource_id", "workshop_items",
                    ["workshop_id", "resource_id"], unique=True)


def _merge_item(kept: dict, duplicate) -> None:
    """What the trainer wrote on a duplicate item goes to the item that stays."""
    for name in ("session", "start_time", "duration_minutes"):
        if not kept[name] and getattr(duplicate, name):
            kept[name] = getattr(duplicate, name)
    note = (duplicate.note or "").strip()
    if note and note not in (kept["note"] or ""):
        kept["note"] = f"{kept['note']}\n\n{note}".strip()


def downgrade():
    # Merged tags and items stay merged; the marks on duplicate files go with their column.
    op.drop_index("uq_workshop_items_workshop_id_resource_id", table_name="workshop_items")
    op.drop_index("uq_resource_files_sha256", table_name="resource_files")
    op.drop_column("resource_files", "legacy_duplicate")
    op.drop_index("uq_tags_name_key", table_name="tags")
    op.drop_column("tags", "name_key")
