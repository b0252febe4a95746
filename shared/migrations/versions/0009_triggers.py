"""webhook triggers, their deliveries, zPod leases

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 14:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('triggers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('branches', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('pr_actions', sa.JSON(), nullable=False),
    sa.Column('profile', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=64), nullable=False),
    sa.Column('overlays', sa.JSON(), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('name_pattern', sa.String(length=200), nullable=False),
    sa.Column('lease_seconds', sa.Integer(), nullable=True),
    sa.Column('on_push', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_triggers_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triggers')),
    sa.UniqueConstraint('name', name=op.f('uq_triggers_name'))
    )
    op.create_index(op.f('ix_triggers_owner_id'), 'triggers', ['owner_id'], unique=False)
    op.create_table('trigger_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trigger_id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.String(length=200), nullable=True),
    sa.Column('dedup_key', sa.String(length=200), nullable=True),
    sa.Column('event', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('zpod_name', sa.String(length=64), nullable=True),
    sa.Column('zpod_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'],
                            name=op.f('fk_trigger_deliveries_job_id_jobs')),
    sa.ForeignKeyConstraint(['trigger_id'], ['triggers.id'],
                            name=op.f('fk_trigger_deliveries_trigger_id_triggers'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['zpod_id'], ['zpods.id'],
                            name=op.f('fk_trigger_deliveries_zpod_id_zpods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_deliveries')),
    # The delivery id is unique per trigger: of two copies arriving at once,
    # exactly one row goes in (and acts); the other is a replay.
    sa.UniqueConstraint('trigger_id', 'dedup_key', name=op.f('uq_trigger_deliveries_trigger_id'))
    )
    op.create_index(op.f('ix_trigger_deliveries_trigger_id'), 'trigger_deliveries',
                    ['trigger_id'], unique=False)
    op.create_index(op.f('ix_trigger_deliveries_zpod_id'), 'trigger_deliveries', ['zpod_id'],
                    unique=False)
    op.create_index(op.f('ix_trigger_deliveries_received_at'), 'trigger_deliveries',
                    ['received_at'], unique=False)
    with op.batch_alter_table('zpods') as batch:
        batch.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('lease_warned_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f('ix_zpods_lease_expires_at'), ['lease_expires_at'],
                           unique=False)


def downgrade() -> None:
    with op.batch_alter_table('zpods') as batch:
        batch.drop_index(batch.f('ix_zpods_lease_expires_at'))
        batch.drop_column('lease_warned_at')
        batch.drop_column('lease_expires_at')
    op.drop_index(op.f('ix_trigger_deliveries_received_at'), table_name='trigger_deliveries')
    op.drop_index(op.f('ix_trigger_deliveries_zpod_id'), table_name='trigger_deliveries')
    op.drop_index(op.f('ix_trigger_deliveries_trigger_id'), table_name='trigger_deliveries')
    op.drop_table('trigger_deliveries')
    op.drop_index(op.f('ix_triggers_owner_id'), table_name='triggers')
    op.drop_table('triggers')
