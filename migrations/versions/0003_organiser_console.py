"""organiser console: event details, life cycle, theme colour and hidden

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 05:30:04.512923
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('starts_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('names_policy', sa.String(length=10), server_default='optional', nullable=False))
        batch_op.add_column(sa.Column('opened_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('colour', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('hidden', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.drop_column('hidden')
        batch_op.drop_column('colour')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
        batch_op.drop_column('opened_at')
        batch_op.drop_column('names_policy')
        batch_op.drop_column('starts_at')
        batch_op.drop_column('description')
