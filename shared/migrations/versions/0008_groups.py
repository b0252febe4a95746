"""groups of users; zPod and endpoint grants to a group (user_id or group_id, exactly one)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Portable SQL: SQLite and PostgreSQL both read it the same way.
ONE_GRANTEE = ("(user_id IS NULL AND group_id IS NOT NULL) OR "
               "(user_id IS NOT NULL AND group_id IS NULL)")
GRANTS = (('zpod_permissions', 'zpod_id'), ('endpoint_permissions', 'endpoint_id'))


def upgrade() -> None:
    op.create_table('groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_groups_name'))
    )
    op.create_table('group_members',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_members_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_group_members'))
    )
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_members_user_id'), ['user_id'], unique=False)

    for table, scope in GRANTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
            batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_group_id'), ['group_id'], unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_group_id_groups'), 'groups',
                                        ['group_id'], ['id'], ondelete='CASCADE')
            batch_op.create_unique_constraint(f'uq_{table}_{scope}_group_id',
                                              [scope, 'group_id'])
            batch_op.create_check_constraint(f'ck_{table}_one_grantee', ONE_GRANTEE)


def downgrade() -> None:
    for table, scope in GRANTS:
        # Group grants have no user to fall back to: they go with the groups.
        op.execute(f"DELETE FROM {table} WHERE user_id IS NULL")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'ck_{table}_one_grantee', type_='check')
            batch_op.drop_constraint(f'uq_{table}_{scope}_group_id', type_='unique')
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_group_id_groups'),
                                     type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_group_id'))
            batch_op.drop_column('group_id')
            batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_members_user_id'))

    op.drop_table('group_members')
    op.drop_table('groups')
