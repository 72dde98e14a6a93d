"""System checks: the exact ``run_checks()`` output for each kind of problem."""

from __future__ import annotations

import pytest

pytest.importorskip("django")

from django.core.checks import Error, Warning, run_checks

from breaker_core import ConfigurationError
from breaker_django import breakers
from tests.django.settings import BREAKERS, MIDDLEWARE

MW = "breaker_django.middleware.BreakerMiddleware"
SETTINGS_HINT = (
    "Fix this entry of settings.BREAKERS. See "
    "https://breakerpanel.readthedocs.io/en/latest/settings/ and "
    "https://breakerpanel.readthedocs.io/en/latest/django/."
)
ADD_HINT = f'Add "{MW}" to MIDDLEWARE, right below SecurityMiddleware.'


def test_the_test_settings_pass_every_check():
    assert run_checks() == []


def test_every_settings_problem_is_one_error_with_its_path(settings):
    settings.BREAKERS = {
        "storage": "memory://",
        "cach": "memory://",
        "dependencies": {
            "inventory": {"window": "10x", "failure_threshold": 0},
            "recommendations": {"stale_for": "5m"},
        },
    }
    assert run_checks() == [
        Error(
            'BREAKERS: unknown setting "cach"; did you mean "cache"? '
            "(allowed: cache, defaults, dependencies, enabled, pages, storage)",
            hint=SETTINGS_HINT,
            id="breaker.E001",
        ),
        Error(
            'BREAKERS["dependencies"]["inventory"]["window"]: expected a positive duration '
            'like "10s", got "10x"',
            hint=SETTINGS_HINT,
            id="breaker.E001",
        ),
        Error(
            'BREAKERS["dependencies"]["inventory"]["failure_threshold"]: expected a positive '
            "integer like 5 or None, got 0",
            hint=SETTINGS_HINT,
            id="breaker.E001",
        ),
    ]
    with pytest.raises(ConfigurationError, match='"10x"'):
        len(breakers)


def test_a_django_cache_alias_missing_from_caches(settings):
    settings.BREAKERS = {**BREAKERS, "cache": "django://fragmnts"}
    assert run_checks() == [
        Error(
            "BREAKERS[\"cache\"]: the Django cache alias 'fragmnts' is not in settings.CACHES",
            hint="Add 'fragmnts' to settings.CACHES, or use one of: \"django://default\", "
            '"django://fragments".',
            id="breaker.E002",
        )
    ]
    with pytest.raises(ConfigurationError, match=r"settings\.CACHES has no alias 'fragmnts'"):
        breakers["inventory"]


def test_the_default_cache_alias_must_exist_too(settings):
    settings.CACHES = {"main": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Django's own check says it too; checks run in no fixed order, so sort by id.
    assert sorted(run_checks(), key=lambda message: message.id) == [
        Error(
            'BREAKERS["cache"] (default "django://default"): the Django cache alias '
            "'default' is not in settings.CACHES",
            hint="Add 'default' to settings.CACHES, or use one of: \"django://main\".",
            id="breaker.E002",
        ),
        Error("You must define a 'default' cache in your CACHES setting.", id="caches.E001"),
    ]


def test_a_malformed_django_cache_url_is_a_settings_error(settings):
    settings.BREAKERS = {**BREAKERS, "cache": "django://default/fragments"}
    assert run_checks() == [
        Error(
            'BREAKERS["cache"]: expected "django://<alias>" naming a cache of settings.CACHES, '
            'like "django://default", got "django://default/fragments"',
            hint=SETTINGS_HINT,
            id="breaker.E001",
        )
    ]


def test_a_clock_that_is_not_callable(settings):
    settings.BREAKERS_CLOCK = 12.5
    assert run_checks() == [
        Error(
            "BREAKERS_CLOCK: expected a callable returning monotonic seconds (or a dotted "
            "path to one), got 12.5; remove the setting to use the default clock",
            hint="Set BREAKERS_CLOCK to a callable (tests) or remove it (the default clock).",
            id="breaker.E004",
        )
    ]


def test_a_clock_path_that_does_not_import(settings):
    settings.BREAKERS_CLOCK = "tests.django.nowhere.clock"
    [message] = run_checks()
    assert message.id == "breaker.E004"
    assert message.msg.startswith(
        'BREAKERS_CLOCK: expected a dotted path to a clock callable like "myproject.testing.'
        'clock", got "tests.django.nowhere.clock" (cannot import module'
    )


def test_routes_without_the_middleware_is_an_error(settings):
    settings.MIDDLEWARE = [m for m in MIDDLEWARE if m != MW]
    assert run_checks() == [
        Error(
            f"catalogue, inventory declare routes, but {MW} is not in settings.MIDDLEWARE: "
            "those pages would not be guarded",
            hint=ADD_HINT,
            id="breaker.E003",
        )
    ]


def test_missing_middleware_without_routes_is_a_warning(settings):
    settings.MIDDLEWARE = [m for m in MIDDLEWARE if m != MW]
    settings.BREAKERS = {"dependencies": {"recommendations": {"stale_for": "5m"}}}
    assert run_checks() == [
        Warning(
            f"{MW} is not in settings.MIDDLEWARE: request.breakers is not set and a "
            "CircuitOpenError escaping a view becomes a 500 instead of a 503",
            hint=ADD_HINT,
            id="breaker.W001",
        )
    ]


def test_middleware_below_personalising_middleware(settings):
    session = "django.contrib.sessions.middleware.SessionMiddleware"
    csrf = "django.middleware.csrf.CsrfViewMiddleware"
    settings.MIDDLEWARE = [session, csrf, MW, "django.middleware.common.CommonMiddleware"]
    assert run_checks() == [
        Warning(
            f"{session}, {csrf} are above {MW} in settings.MIDDLEWARE: it would see "
            "responses before they get their cookies and Vary headers, so it keeps no page "
            "for stale_for",
            hint=f"Move {MW} above them (right below SecurityMiddleware).",
            id="breaker.W002",
        )
    ]


def test_a_subclass_counts_as_the_middleware_it_extends(settings):
    settings.MIDDLEWARE = [
        "tests.django.middleware.CustomSessionMiddleware",
        "tests.django.middleware.CustomBreakerMiddleware",
    ]
    [message] = run_checks()
    assert message.id == "breaker.W002"
    assert message.msg.startswith("tests.django.middleware.CustomSessionMiddleware is above")


def test_gzip_below_the_middleware(settings):
    gzip = "django.middleware.gzip.GZipMiddleware"
    settings.MIDDLEWARE = [*MIDDLEWARE, gzip]
    assert run_checks() == [
        Warning(
            f"{gzip} is below {MW} in settings.MIDDLEWARE: kept pages would be compressed "
            "for one client and served to others, so it keeps no page for stale_for",
            hint=f"Move {gzip} above {MW}.",
            id="breaker.W004",
        )
    ]
    settings.MIDDLEWARE = [gzip, *MIDDLEWARE]
    assert run_checks() == []


def test_routes_that_no_url_can_match(settings):
    dependencies = dict(BREAKERS["dependencies"])
    dependencies["inventory"] = {
        "routes": [
            "/checkout/*",  # matches /checkout/
            "/checkout",  # matches nothing: the URL is /checkout/ (APPEND_SLASH redirects)
            "/chekout/*",  # a typo
            "/catalogue/*/",  # matches /catalogue/session/
            "/*/escape/",  # matches /async/escape/
            "/ops/breakers/status.json",  # included URLconf
        ]
    }
    settings.BREAKERS = {**BREAKERS, "dependencies": dependencies}
    hint = (
        "Patterns match request.path_info (without SCRIPT_NAME), from its leading '/'; "
        "'*' matches any run of characters. Fix the pattern or remove it."
    )
    assert run_checks() == [
        Warning(
            'BREAKERS["dependencies"]["inventory"]["routes"]: no URL of ROOT_URLCONF can '
            'match "/checkout", so it guards no page',
            hint=hint,
            id="breaker.W003",
        ),
        Warning(
            'BREAKERS["dependencies"]["inventory"]["routes"]: no URL of ROOT_URLCONF can '
            'match "/chekout/*", so it guards no page',
            hint=hint,
            id="breaker.W003",
        ),
    ]


def test_route_check_samples_converters_and_regex_urls(settings):
    settings.ROOT_URLCONF = "tests.django.urls_shapes"
    settings.BREAKERS = {
        "dependencies": {
            "shop": {
                "routes": [
                    "/product/7*",  # <int:pk>: 7 is a sample taken from the pattern itself
                    "/files/a/b/c.txt",  # <path:name>
                    "/orders/*/pay/",  # <uuid:order>
                    "/legacy/*",  # re_path: not sampled, its literal start agrees
                    "/product/x*",  # <int:pk> cannot start with x
                ]
            }
        }
    }
    assert [m.msg for m in run_checks()] == [
        'BREAKERS["dependencies"]["shop"]["routes"]: no URL of ROOT_URLCONF can match '
        '"/product/x*", so it guards no page'
    ]
