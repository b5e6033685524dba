"""post-moderation and merged duplicates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:52:23.966391
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moderation', sa.String(length=8), server_default='pre', nullable=False))

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_questions_merged_into', 'questions', ['merged_into'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_questions_merged_into', type_='foreignkey')
        batch_op.drop_column('merged_into')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('moderation')

