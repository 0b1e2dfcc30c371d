"""thumbnails in the file store: each file records whether it has one

Revision ID: e5b2c7d9a4f1
Revises: 425f6906fc8d
Create Date: 2026-12-01 12:00:00

Pages ask the database, not the store (an S3 request per file on every list would be slow).
Existing files get NULL ("not recorded"); `kb init` fills it in from the store after moving the
old instance/thumbnails/ folder into it, and until then pages ask the store for those files.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5b2c7d9a4f1'
down_revision = '425f6906fc8d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('resource_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_thumbnail', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('resource_files', schema=None) as batch_op:
        batch_op.drop_column('has_thumbnail')
