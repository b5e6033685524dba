"""Settings: environment first, secrets generated once and kept in the instance folder."""
import os
import stat

import pytest

from qa.settings import load_settings


def test_defaults_generate_and_keep_secrets(tmp_path):
    first = load_settings(tmp_path, {})
    assert first.database_url == f"sqlite:///{tmp_path / 'qa.sqlite3'}"
    assert first.async_mode == "eventlet" and first.message_queue is None
    assert first.admin_token_generated and len(first.admin_token) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "admin_token").st_mode) == 0o600
    second = load_settings(tmp_path, {})
    assert (second.admin_token, second.secret_key) == (first.admin_token, first.secret_key)
    assert not second.admin_token_generated


def test_environment_wins(tmp_path):
    s = load_settings(tmp_path, {
        "QA_DATABASE_URL": "postgresql+psycopg://db/x", "QA_MESSAGE_QUEUE": "redis://r:6379",
        "QA_SECRET_KEY": "k", "QA_ADMIN_TOKEN": "a", "QA_ASYNC_MODE": "gevent",
        "QA_ALLOWED_ORIGINS": "https://a.example/, https://b.example",
    })
    assert (s.database_url, s.message_queue, s.secret_key, s.admin_token, s.async_mode) == (
        "postgresql+psycopg://db/x", "redis://r:6379", "k", "a", "gevent")
    assert s.allowed_origins == ("https://a.example", "https://b.example")
    assert not (tmp_path / "admin_token").exists()


def test_unknown_async_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="QA_ASYNC_MODE"):
        load_settings(tmp_path, {"QA_ASYNC_MODE": "asyncio"})


@pytest.mark.parametrize("name", ["QA_DB_POOL_SIZE", "QA_MAX_SOCKETS_PER_ADDRESS", "QA_TRUSTED_PROXIES"])
@pytest.mark.parametrize("value", ["ten", "-1", "1.5"])
def test_bad_numbers_are_refused_naming_the_setting(tmp_path, name, value):
    with pytest.raises(ValueError, match=name):
        load_settings(tmp_path, {name: value})


@pytest.mark.parametrize("value, expected", [("", False), ("off", False), ("on", True), ("1", True),
                                             ("no", False), ("yes", True)])
def test_profanity_filter_is_off_unless_asked(tmp_path, value, expected):
    assert load_settings(tmp_path, {"QA_PROFANITY_FILTER": value}).profanity_filter is expected
    assert load_settings(tmp_path, {}).profanity_filter is False
