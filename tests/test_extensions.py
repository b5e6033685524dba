"""qa/extensions.py: each app owns its database engine, so a second app in one process (tests, the
CLI beside a server) neither shares the first one's pool nor closes it."""
import pytest
from sqlalchemy import select

from qa.extensions import db


def test_a_second_app_has_its_own_engine_and_leaves_the_first_ones_pool_open(app, make_app, tmp_path):
    with app.app_context():
        db.session.execute(select(1))  # holds a connection from the first app's pool
        other = make_app(f"sqlite:///{tmp_path / 'other.sqlite3'}")
        assert db.engine is db.engine_of(app) is not db.engine_of(other)
        # Its connection is still checked out of the same pool, not of a fresh one put in
        # its place (a connection returned to a disposed pool is left for the collector).
        assert db.engine.pool.checkedout() == 1
        assert db.session.execute(select(1)).scalar() == 1
        with other.app_context():
            assert db.engine is db.engine_of(other)
            assert db.engine.url.database.endswith("other.sqlite3")
            assert db.session.execute(select(1)).scalar() == 1
    assert db.engine_of(app).pool.checkedout() == 0  # the app context's end gave it back


def test_binding_an_app_again_closes_its_old_engine(make_app, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'first.sqlite3'}")
    first = db.engine_of(app)
    with first.connect():
        pass  # the pool now holds an open connection
    assert first.pool.checkedin() == 1
    app.config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'second.sqlite3'}"
    db.init_app(app)
    assert db.engine_of(app) is not first
    assert first.pool.checkedin() == 0  # closed, not left to the collector
    assert app.teardown_appcontext_funcs.count(db._close) == 1  # one session close per context


def test_the_engine_outside_an_app_context_is_a_clear_error():
    with pytest.raises(RuntimeError, match="application context"):
        db.engine
