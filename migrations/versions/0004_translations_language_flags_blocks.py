"""event and theme translations, question language and flag, blocked participants

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('translations', sa.Text(), nullable=True))

    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('translations', sa.Text(), nullable=True))

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('flag', sa.String(length=20), nullable=True))

    op.create_table(
        'blocked_participants',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id', 'participant_id'),
    )


def downgrade() -> None:
    op.drop_table('blocked_participants')

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_column('flag')
        batch_op.drop_column('language')

    with op.batch_alter_table('themes', schema=None) as batch_op:
        batch_op.drop_column('translations')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('translations')
