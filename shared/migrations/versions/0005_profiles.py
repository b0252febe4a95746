"""profiles, with the built-in `minimal` one as an ordinary row

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:02:22.480789
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Frozen copy of the profile as this revision ships it (shared.profiles may change).
MINIMAL = {'name': 'minimal',
 'description': 'A router/DNS VM and 3 nested ESXi hosts.',
 'stages': [{'name': 'network',
             'items': [{'role': 'router',
                        'hostname': 'router',
                        'host_octet': 1,
                        'cpus': 1,
                        'memory_mb': 1024,
                        'guest_id': 'otherLinux64Guest',
                        'disks': [{'size_gb': 4}]}]},
            {'name': 'hosts',
             'items': [{'role': 'esxi',
                        'hostname': 'esxi{n}',
                        'host_octet': 10,
                        'count': 3,
                        'cpus': 4,
                        'memory_mb': 16384,
                        'guest_id': 'vmkernel7Guest',
                        'nested_hv': True,
                        'disks': [{'size_gb': 8, 'thin': False},
                                  {'size_gb': 40, 'thin': True}]}]}]}


def upgrade() -> None:
    op.create_table('profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profiles')),
    sa.UniqueConstraint('name', name=op.f('uq_profiles_name'))
    )
    profiles = sa.table('profiles', sa.column('name', sa.String), sa.column('description', sa.Text),
                        sa.column('document', sa.JSON), sa.column('created_at', sa.DateTime),
                        sa.column('updated_at', sa.DateTime))
    now = datetime.now(UTC)
    op.bulk_insert(profiles, [{"name": MINIMAL["name"], "description": MINIMAL["description"],
                               "document": MINIMAL, "created_at": now, "updated_at": now}])


def downgrade() -> None:
    op.drop_table('profiles')
