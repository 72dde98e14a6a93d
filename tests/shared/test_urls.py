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


@pytest.mark.parametrize(("url", "bad", "allowed"), BAD_STORAGE)
def test_a_bad_storage_url_fails_at_start_up(url, bad, allowed):
    with pytest.raises(ConfigurationError) as info:
        Registry.from_settings({"storage": url, "dependencies": {"dep": {}}})
    message = str(info.value)
    assert message.startswith('BREAKERS["storage"]: expected a Redis URL like "redis://')
    assert bad in message
    assert allowed in message


@pytest.mark.parametrize(("url", "bad", "allowed"), BAD_CACHE)
def test_a_bad_cache_url_fails_at_start_up(url, bad, allowed):
    with pytest.raises(ConfigurationError) as info:
        Registry.from_settings({"cache": url, "dependencies": {"dep": {}}})
    message = str(info.value)
    assert message.startswith('BREAKERS["cache"]: expected a Redis URL like "redis://')
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
