"""background jobs with leases (text extraction, OCR, thumbnails)

Revision ID: a7c4e2f9b130
Revises: 92dba0a0dbca
Create Date: 2026-12-01 10:00:00

Files still waiting to be read when this runs get their job, so nothing is stranded.
"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c4e2f9b130'
down_revision = '92dba0a0dbca'
branch_labels = None
depends_on = None


def upgrade():
    jobs = op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='job_state',
                                   native_enum=False, length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('owner', sa.String(length=120), nullable=True),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('queued_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['resource_files.id'],
                                name=op.f('fk_jobs_file_id_resource_files'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
        sa.UniqueConstraint('kind', 'file_id', name='uq_jobs_kind_file'),
    )
    op.create_index('ix_jobs_state_lease', 'jobs', ['state', 'lease_until'], unique=False)
    files = sa.table('resource_files', sa.column('id', sa.Integer),
                     sa.column('extraction_state', sa.String))
    op.execute(jobs.insert().from_select(
        ['kind', 'file_id', 'state', 'attempts', 'queued_at', 'last_error'],
        sa.select(sa.literal('process_file'), files.c.id, sa.literal('queued'), sa.literal(0),
                  sa.func.current_timestamp(), sa.literal(''))
        .where(files.c.extraction_state == 'pending')))


def downgrade():
    op.drop_index('ix_jobs_state_lease', table_name='jobs')
    op.drop_table('jobs')
