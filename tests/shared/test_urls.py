"""Storage and cache URLs are checked at start-up: the setting, the bad part, what is allowed."""

from __future__ import annotations

import pytest

from breaker_core import Registry
from breaker_core.errors import ConfigurationError

pytest.importorskip("redis")

BAD_STORAGE = [
    ("redis://127.0.0.1:6379/0?refesh=250ms", "unknown option 'refesh'", "allowed: prefix"),
    ("redis://127.0.0.1:6379/0?prefx=shop", "unknown option 'prefx'", "refresh"),
    ("redis://127.0.0.1:99999/0", "port '99999'", "1 to 65535"),
    ("redis://127.0.0.1:http/0", "port 'http'", "1 to 65535"),
    ("redis://127.0.0.1:6379/abc", "database 'abc'", "is not a number"),
    ("redis://127.0.0.1:6379/0/1", "path '/0/1'", "database number like /0"),
    ("unix:///tmp/redis.sock?db=x", "database 'x'", "is not a number"),
    ("redis+sentinel://127.0.0.1:26379", "name the service", "mymaster"),
    ("redis+sentinel://127.0.0.1:26379/mymaster/zero", "database 'zero'", "number"),
    ("redis+sentinel://127.0.0.1:26379,127.0.0.1:70000/m", "port '70000'", "1 to 65535"),
    ("redis+cluster://127.0.0.1:7000/3", "only database 0", "Cluster"),
    ("redis://127.0.0.1:6379/0?max_entries=100", "'max_entries' belongs in the cache URL", ""),
]

BAD_CACHE = [
    ("redis://127.0.0.1:6379/0?max_entires=100", "unknown option 'max_entires'", "max_entries"),
    ("redis://127.0.0.1:6379/0?refresh=1s", "'refresh' belongs in the storage URL", ""),
    ("redis://127.0.0.1:0/0", "port '0'", "1 to 65535"),
    ("redis://127.0.0.1:6379/x", "database 'x'", "number"),
]


BAD_URLS = [("storage", *case) for case in BAD_STORAGE] + [("cache", *case) for case in BAD_CACHE]


@pytest.mark.parametrize(("setting", "url", "bad", "allowed"), BAD_URLS)
def test_a_bad_storage_or_cache_url_fails_at_start_up(setting, url, bad, allowed):
    with pytest.raises(ConfigurationError) as info:
        Registry.from_settings({setting: url, "dependencies": {"dep": {}}})
    message = str(info.value)
    assert message.startswith(f'BREAKERS["{setting}"]: expected a Redis URL like "redis://')
    assert bad in message
    assert allowed in message


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0?prefix=shop&timeout=100ms&refresh=250ms&client_name=web",
        "redis://user:secret@127.0.0.1:6379/2?health_check_interval=30",
        "redis://[::1]:6379/0",
        "unix:///tmp/redis.sock?db=3",
        "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster/1",
        "redis+cluster://127.0.0.1:7000",
    ],
)
def test_good_storage_urls_pass_the_check(url):
    from breaker_core.redis.urls import CACHE_OPTIONS, STORAGE_OPTIONS, split_options

    options, driver_url = split_options(url, STORAGE_OPTIONS, CACHE_OPTIONS, "cache")
    assert set(options) <= set(STORAGE_OPTIONS)
    assert "refresh" not in driver_url
    assert "prefix" not in driver_url


SECRET = "s3cr3t-Pa55"

SECRET_URLS = [
    # (setting, URL with a password, what the problem must still name)
    ("storage", f"redis://:{SECRET}@127.0.0.1:99999/0", "port '99999'"),
    ("storage", f"redis://app:{SECRET}@127.0.0.1:6379/0?refesh=1s", "unknown option 'refesh'"),
    ("storage", f"rediss://127.0.0.1:6379/0?password={SECRET}&prefx=a", "unknown option 'prefx'"),
    ("storage", f"redis+sentinel://:{SECRET}@127.0.0.1:26379", "name the service"),
    ("cache", f"redis://:{SECRET}@127.0.0.1:6379/x", "database 'x'"),
    ("cache", f"redis://127.0.0.1:6379/0?refresh=1s&password={SECRET}", "'refresh' belongs"),
]


@pytest.mark.parametrize(("setting", "url", "bad"), SECRET_URLS)
def test_a_problem_with_a_url_never_shows_its_password(setting, url, bad, caplog):
    with pytest.raises(ConfigurationError) as info:
        Registry.from_settings({setting: url, "dependencies": {"dep": {}}})
    message = str(info.value)
    assert bad in message
    assert SECRET not in message
    assert "***" in message
    assert SECRET not in caplog.text


def test_a_url_is_shown_with_its_password_as_stars():
    from breaker_core.storage import redact_url, storage_from_url

    assert redact_url(f"redis://:{SECRET}@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url(f"redis://app:{SECRET}@h/0?prefix=x") == "redis://app:***@h/0?prefix=x"
    assert redact_url(f"redis://h/0?password={SECRET}&db=1") == "redis://h/0?password=***&db=1"
    assert (
        redact_url(f"redis+sentinel://:{SECRET}@a:26379,b:26379/svc")
        == "redis+sentinel://:***@a:26379,b:26379/svc"
    )
    assert redact_url("redis://user@h/0") == "redis://user@h/0"  # no password to hide
    assert redact_url("memory://") == "memory://"
    storage = storage_from_url(f"redis://:{SECRET}@127.0.0.1:6379/0")
    assert SECRET not in repr(storage)


def test_a_change_of_storage_at_run_time_never_shows_either_password(redis_url):
    registry = Registry.from_settings({"storage": f"redis://:{SECRET}@127.0.0.1:6379/0"})
    try:
        with pytest.raises(ConfigurationError) as info:
            registry.reconfigure(
                {
                    "storage": f"redis://:{SECRET}2@127.0.0.1:6379/1",
                    "cache": f"redis://:{SECRET}@h/0",
                }
            )
    finally:
        registry.close()
    message = str(info.value)
    assert 'BREAKERS["storage"]: cannot change' in message
    assert SECRET not in message
