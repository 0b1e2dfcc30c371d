"""OAI-PMH tombstones: resources harvesters had and no longer may (deletedRecord persistent)

Revision ID: 1198047a007b
Revises: c3d8f1a2e4b5
Create Date: 2026-12-01 09:49:50.125946

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1198047a007b'
down_revision = 'c3d8f1a2e4b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('oai_tombstones',
    sa.Column('resource_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=False),
    sa.Column('set_specs', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('resource_id', name=op.f('pk_oai_tombstones'))
    )
    with op.batch_alter_table('oai_tombstones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oai_tombstones_deleted_at'), ['deleted_at'], unique=False)



def downgrade():
    with op.batch_alter_table('oai_tombstones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oai_tombstones_deleted_at'))

    op.drop_table('oai_tombstones')
