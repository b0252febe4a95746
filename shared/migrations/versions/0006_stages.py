"""named overlays, zPod request/config, per-item deployment state, job stage and params

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('overlays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overlays')),
    sa.UniqueConstraint('name', name=op.f('uq_overlays_name'))
    )
    with op.batch_alter_table('zpods') as batch:
        batch.add_column(sa.Column('request', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('config', sa.JSON(), nullable=True))
    with op.batch_alter_table('components') as batch:
        batch.add_column(sa.Column('stage_index', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('stage', sa.String(length=64), nullable=False,
                                   server_default='main'))
        batch.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch.add_column(sa.Column('power_state', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                   server_default='0'))
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('stage', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('params')
        batch.drop_column('stage')
    with op.batch_alter_table('components') as batch:
        for column in ('attempts', 'heartbeat_at', 'claimed_by', 'power_state', 'error',
                       'stage', 'stage_index'):
            batch.drop_column(column)
    with op.batch_alter_table('zpods') as batch:
        batch.drop_column('config')
        batch.drop_column('request')
    op.drop_table('overlays')
