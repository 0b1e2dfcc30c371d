"""the consultation responses' index follows the change log (replaces
consultation_responses.needs_indexing, which the first node to index cleared for all)

Revision ID: b8e1f4c2d7a3
Revises: e5b2c7d9a4f1
Create Date: 2026-12-01 13:00:00

Responses still flagged for indexing get their entry in the log, so nothing waiting is lost.
"""
from alembic import op
import sqlalchemy as sa


revision = 'b8e1f4c2d7a3'
down_revision = 'e5b2c7d9a4f1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('index_changes') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False,
                                   server_default=sa.text("'resource'")))
    changes = sa.table('index_changes', sa.column('kind', sa.String),
                       sa.column('resource_id', sa.Integer), sa.column('at', sa.DateTime))
    responses = sa.table('consultation_responses', sa.column('id', sa.Integer),
                         sa.column('needs_indexing', sa.Boolean))
    op.execute(changes.insert().from_select(
        ['kind', 'resource_id', 'at'],
        sa.select(sa.literal('response'), responses.c.id, sa.func.current_timestamp())
        .where(responses.c.needs_indexing.is_(True)).order_by(responses.c.id)))
    with op.batch_alter_table('consultation_responses') as batch:
        batch.drop_index('ix_consultation_responses_needs_indexing')
        batch.drop_column('needs_indexing')


def downgrade():
    # Responses whose entry is still in the log are flagged again.
    with op.batch_alter_table('consultation_responses') as batch:
        batch.add_column(sa.Column('needs_indexing', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_index('ix_consultation_responses_needs_indexing', ['needs_indexing'])
    responses = sa.table('consultation_responses', sa.column('id', sa.Integer),
                         sa.column('needs_indexing', sa.Boolean))
    changes = sa.table('index_changes', sa.column('kind', sa.String),
                       sa.column('resource_id', sa.Integer))
    op.execute(responses.update().where(responses.c.id.in_(
        sa.select(changes.c.resource_id).where(changes.c.kind == 'response')))
        .values(needs_indexing=True))
    op.execute(changes.delete().where(changes.c.kind == 'response'))
    with op.batch_alter_table('index_changes') as batch:
        batch.drop_column('kind')
