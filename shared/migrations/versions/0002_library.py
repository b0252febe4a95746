"""library: settings, libraries, components, staged templates, uploads

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:52:33.614419
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('secret', sa.Boolean(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settings')),
    sa.UniqueConstraint('name', name=op.f('uq_settings_name'))
    )
    op.create_table('libraries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('sync_job_id', sa.Integer(), nullable=True),
    sa.Column('last_sync', sa.JSON(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sync_job_id'], ['jobs.id'], name=op.f('fk_libraries_sync_job_id_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_libraries')),
    sa.UniqueConstraint('name', name=op.f('uq_libraries_name'))
    )
    op.create_table('library_components',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('library_id', sa.Integer(), nullable=True),
    sa.Column('source_file', sa.String(length=500), nullable=True),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('bytes_done', sa.BigInteger(), nullable=False),
    sa.Column('path', sa.Text(), nullable=True),
    sa.Column('download_job_id', sa.Integer(), nullable=True),
    sa.Column('ova', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['download_job_id'], ['jobs.id'], name=op.f('fk_library_components_download_job_id_jobs')),
    sa.ForeignKeyConstraint(['library_id'], ['libraries.id'], name=op.f('fk_library_components_library_id_libraries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_components')),
    sa.UniqueConstraint('uid', name=op.f('uq_library_components_uid'))
    )
    with op.batch_alter_table('library_components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_library_components_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_library_components_library_id'), ['library_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_library_components_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_library_components_status'), ['status'], unique=False)

    op.create_table('staged_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('moref', sa.String(length=50), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['library_components.id'], name=op.f('fk_staged_templates_component_id_library_components')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_staged_templates_endpoint_id_endpoints')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_staged_templates_job_id_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staged_templates')),
    sa.UniqueConstraint('component_id', 'endpoint_id', name=op.f('uq_staged_templates_component_id'))
    )
    op.create_table('uploads',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('component_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['library_components.id'], name=op.f('fk_uploads_component_id_library_components')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_uploads_job_id_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads'))
    )


def downgrade() -> None:
    op.drop_table('uploads')
    op.drop_table('staged_templates')
    with op.batch_alter_table('library_components', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_library_components_status'))
        batch_op.drop_index(batch_op.f('ix_library_components_sha256'))
        batch_op.drop_index(batch_op.f('ix_library_components_library_id'))
        batch_op.drop_index(batch_op.f('ix_library_components_kind'))

    op.drop_table('library_components')
    op.drop_table('libraries')
    op.drop_table('settings')
