"""endpoint capacity figures read from vCenter

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('endpoints') as batch:
        batch.add_column(sa.Column('capacity', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('capacity_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('endpoints') as batch:
        batch.drop_column('capacity_at')
        batch.drop_column('capacity')
