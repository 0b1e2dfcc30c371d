"""the change log that every node's search index follows (replaces resources.needs_indexing)

Revision ID: c3d8f1a2e4b5
Revises: a7c4e2f9b130
Create Date: 2026-12-01 11:30:00

Resources still flagged for indexing get their entry in the log, so nothing waiting is lost.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d8f1a2e4b5'
down_revision = 'a7c4e2f9b130'
branch_labels = None
depends_on = None

SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    changes = op.create_table(
        'index_changes',
        sa.Column('seq', SEQUENCE, autoincrement=True, nullable=False),
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_index_changes')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_index_changes_resource_id'), 'index_changes', ['resource_id'])
    op.create_index(op.f('ix_index_changes_at'), 'index_changes', ['at'])
    op.create_table(
        'index_nodes',
        sa.Column('node', sa.String(length=200), nullable=False),
        sa.Column('applied_through', SEQUENCE, nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('node', name=op.f('pk_index_nodes')),
    )
    op.create_table(
        'index_log_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pruned_through', SEQUENCE, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_index_log_state')),
    )
    resources = sa.table('resources', sa.column('id', sa.Integer),
                         sa.column('needs_indexing', sa.Boolean))
    op.execute(changes.insert().from_select(
        ['resource_id', 'at'],
        sa.select(resources.c.id, sa.func.current_timestamp())
        .where(resources.c.needs_indexing.is_(True)).order_by(resources.c.id)))
    with op.batch_alter_table('resources') as batch:
        batch.drop_index('ix_resources_needs_indexing')
        batch.drop_column('needs_indexing')


def downgrade():
    with op.batch_alter_table('resources') as batch:
        batch.add_column(sa.Column('needs_indexing', sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.create_index('ix_resources_needs_indexing', ['needs_indexing'])
    op.drop_table('index_log_state')
    op.drop_table('index_nodes')
    op.drop_index(op.f('ix_index_changes_at'), table_name='index_changes')
    op.drop_index(op.f('ix_index_changes_resource_id'), table_name='index_changes')
    op.drop_table('index_changes')
