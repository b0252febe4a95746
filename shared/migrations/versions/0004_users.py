"""users and roles; token owners, scopes, expiry, revocation; zPod owners and permissions;
endpoint permissions; jobs.user_id; the audit log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:42:55.415943
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('user_name', sa.String(length=100), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('resource', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=True),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('remote_addr', sa.String(length=100), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_user_id'), ['user_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('max_zpods', sa.Integer(), nullable=True),
    sa.Column('max_vcpu', sa.Integer(), nullable=True),
    sa.Column('max_memory_mb', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name'))
    )
    op.create_table('endpoint_permissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_endpoint_permissions_endpoint_id_endpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_endpoint_permissions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endpoint_permissions')),
    sa.UniqueConstraint('endpoint_id', 'user_id', name=op.f('uq_endpoint_permissions_endpoint_id'))
    )
    with op.batch_alter_table('endpoint_permissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_endpoint_permissions_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_endpoint_permissions_user_id'), ['user_id'], unique=False)

    op.create_table('zpod_permissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zpod_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_zpod_permissions_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['zpod_id'], ['zpods.id'], name=op.f('fk_zpod_permissions_zpod_id_zpods'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zpod_permissions')),
    sa.UniqueConstraint('zpod_id', 'user_id', name=op.f('uq_zpod_permissions_zpod_id'))
    )
    with op.batch_alter_table('zpod_permissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zpod_permissions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_zpod_permissions_zpod_id'), ['zpod_id'], unique=False)

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('scope', sa.String(length=10), nullable=False,
                                      server_default='write'))
        batch_op.add_column(sa.Column('prefix', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_user_id_users'), 'users', ['user_id'], ['id'])

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_jobs_user_id_users'), 'users', ['user_id'], ['id'])

    with op.batch_alter_table('zpods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_zpods_owner_id'), ['owner_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_zpods_owner_id_users'), 'users', ['owner_id'], ['id'])

    _adopt_existing_tokens()


def _adopt_existing_tokens() -> None:
    """Tokens made before users existed were admin tokens: give them an `admin` user."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM api_tokens LIMIT 1")).first() is None:
        return
    now = sa.func.now() if bind.dialect.name != "sqlite" else sa.func.current_timestamp()
    users = sa.table("users", sa.column("name"), sa.column("role"), sa.column("enabled"),
                     sa.column("created_at"), sa.column("updated_at"))
    bind.execute(users.insert().values(name="admin", role="admin", enabled=True,
                                       created_at=now, updated_at=now))
    bind.execute(sa.text("UPDATE api_tokens SET user_id = (SELECT id FROM users WHERE name = 'admin')"))



def downgrade() -> None:
    with op.batch_alter_table('zpods', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_zpods_owner_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_zpods_owner_id'))
        batch_op.drop_column('owner_id')

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_jobs_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_jobs_user_id'))
        batch_op.drop_column('user_id')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('prefix')
        batch_op.drop_column('scope')
        batch_op.drop_column('user_id')

    with op.batch_alter_table('zpod_permissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zpod_permissions_zpod_id'))
        batch_op.drop_index(batch_op.f('ix_zpod_permissions_user_id'))

    op.drop_table('zpod_permissions')
    with op.batch_alter_table('endpoint_permissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_endpoint_permissions_user_id'))
        batch_op.drop_index(batch_op.f('ix_endpoint_permissions_endpoint_id'))

    op.drop_table('endpoint_permissions')
    op.drop_table('users')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_user_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
