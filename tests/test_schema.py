"""The migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from qa import schema
from qa.extensions import db
from qa.models import Base


def test_migrations_match_models(app):
    with db.engine_of(app).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_database_is_at_head_and_upgrade_is_idempotent(app):
    current, head = schema.pending_revisions(db.engine_of(app))
    assert current == head is not None
    schema.upgrade(db.engine_of(app))
    assert schema.pending_revisions(db.engine_of(app)) == (head, head)
