"""The one rule for what page may be kept, and the one key it is kept under."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breaker_core.pagesettings import PageSettings
from breaker_core.web.shareable import PageRequest, primary_key, refusal, variant, vary_names

SETTINGS = PageSettings().extended(shared_cookies=("csrftoken",), key_cookies=("django_language",))
HTML = [("Content-Type", "text/html")]


def request(method="GET", headers=(), *, scheme="https", host="a.example", path="/p", query=""):
    return PageRequest(method, scheme, host, path, query, list(headers))


def kept(req, status=200, headers=HTML, length=10):
    return refusal(req, status, list(headers), length, SETTINGS) is None


@pytest.mark.parametrize(
    ("req", "status", "headers", "length", "allowed"),
    [
        (request(), 200, HTML, 10, True),
        (request("HEAD"), 200, HTML, 0, False),  # HEAD reads what GET kept; never stored
        (request("POST"), 200, HTML, 10, False),
        (request(), 201, HTML, 10, False),
        (request(), 200, [("Set-Cookie", "a=b")], 10, False),
        (request(), 200, [("cache-control", "max-age=60, private")], 10, False),
        (request(), 200, [("Cache-Control", 'private="x"')], 10, False),
        (request(), 200, [("Cache-Control", "no-store")], 10, False),
        (request(), 200, [("Cache-Control", "no-cache")], 10, False),
        (request(), 200, [("Cache-Control", "public, max-age=60")], 10, True),
        (request(), 200, [("Vary", "*")], 10, False),
        (request(), 200, [("Vary", "Accept-Encoding, X-Tenant")], 10, True),
        (request(headers=[("Cache-Control", "no-store")]), 200, HTML, 10, False),
        (request(headers=[("Authorization", "Bearer x")]), 200, HTML, 10, False),
        (request(headers=[("X-Api-Key", "k")]), 200, HTML, 10, False),
        (
            request(headers=[("Authorization", "Bearer x")]),
            200,
            [("Cache-Control", "public")],
            10,
            True,
        ),
        (request(), 200, HTML, None, False),  # streamed
        (request(), 200, HTML, SETTINGS.max_body + 1, False),
        (request(host=None), 200, HTML, 10, False),  # the framework refused the host
        (request(headers=[("Cookie", "uid=alice")]), 200, HTML, 10, False),
        (request(headers=[("Cookie", "sessionid=s1; csrftoken=t")]), 200, HTML, 10, False),
        (request(headers=[("Cookie", "uid=alice")]), 200, [("Cache-Control", "public")], 10, True),
        (request(headers=[("Cookie", "csrftoken=t; _ga=GA1.1; _ga_X=1")]), 200, HTML, 10, True),
        (request(headers=[("Cookie", "django_language=fr")]), 200, HTML, 10, True),
    ],
)
def test_only_responses_a_shared_cache_could_store_and_no_cookie_personalised_are_kept(
    req, status, headers, length, allowed
):
    assert kept(req, status, headers, length) is allowed


def test_the_refusal_says_why():
    why = refusal(request(headers=[("Cookie", "uid=alice")]), 200, HTML, 10, SETTINGS)
    assert why is not None
    assert "'uid'" in why


fields = st.text(alphabet="ab/?%3F=&;#:", max_size=6)


@given(
    st.tuples(fields, fields, fields, fields, st.sampled_from(["GET", "POST"])),
    st.tuples(fields, fields, fields, fields, st.sampled_from(["GET", "POST"])),
)
def test_the_key_tells_apart_every_scheme_authority_method_path_and_query(one, two):
    def key(values):
        scheme, host, path, query, method = values
        return primary_key("inv", PageRequest(method, scheme or "http", host, path, query, []))

    def norm(values):
        scheme, host, path, query, method = values
        return ((scheme or "http").lower(), host.lower(), path, query, method)

    assert (key(one) == key(two)) == (norm(one) == norm(two))


def test_the_planted_url_attack_gives_two_keys():
    encoded = request(path="/p/evil?q=1", query="")  # /p/evil%3Fq=1, decoded by the framework
    tricked = request(path="/p/evil", query="q=1?")
    assert primary_key("inv", encoded) != primary_key("inv", tricked)


def test_host_and_scheme_are_in_the_key_and_default_ports_are_not():
    keys = {
        primary_key("inv", request(host="a.example")),
        primary_key("inv", request(host="b.example")),
        primary_key("inv", request(scheme="http", host="a.example")),
    }
    assert len(keys) == 3
    assert primary_key("inv", request(host="A.example:443")) == primary_key(
        "inv", request(host="a.example")
    )
    assert primary_key("inv", request("HEAD")) == primary_key("inv", request("GET"))


def test_every_vary_header_is_honoured():
    names = vary_names([("Vary", "Accept-Encoding, X-Tenant"), ("vary", "accept-language")])
    assert names == ("accept-encoding", "accept-language", "x-tenant")
    tenant_a = request(headers=[("X-Tenant", "a")])
    tenant_b = request(headers=[("X-Tenant", "b")])
    absent = request()
    empty = request(headers=[("X-Tenant", "")])
    texts = {variant(r, names, SETTINGS) for r in (tenant_a, tenant_b, absent, empty)}
    assert len(texts) == 4


def test_an_encoded_body_varies_on_accept_encoding_even_without_saying_so():
    assert vary_names([("Content-Encoding", "gzip")]) == ("accept-encoding",)


def test_vary_cookie_only_sees_the_cookies_that_may_personalise():
    names = ("cookie",)
    anonymous = request(headers=[("Cookie", "csrftoken=1; _ga=x")])
    other_anonymous = request(headers=[("Cookie", "_ga=y; csrftoken=2")])
    nobody = request()
    signed_in = request(headers=[("Cookie", "sessionid=abc; csrftoken=1")])
    assert variant(anonymous, names, SETTINGS) == variant(other_anonymous, names, SETTINGS)
    assert variant(anonymous, names, SETTINGS) == variant(nobody, names, SETTINGS)
    assert variant(signed_in, names, SETTINGS) != variant(nobody, names, SETTINGS)


def test_the_language_cookie_picks_a_variant_even_without_vary():
    french = request(headers=[("Cookie", "django_language=fr")])
    english = request(headers=[("Cookie", "django_language=en")])
    none = request()
    assert len({variant(r, (), SETTINGS) for r in (french, english, none)}) == 3


def test_shared_cookie_settings_are_validated_with_their_path():
    from breaker_core import ConfigurationError, Registry

    registry = Registry.from_settings({"pages": {"shared_cookies": ["consent", "_pk_*"]}})
    assert registry.pages.shared_cookies == ("consent", "_pk_*")
    with pytest.raises(ConfigurationError) as error:
        Registry.from_settings({"pages": {"shared_cookies": "consent", "max_bytes": 3}})
    text = str(error.value)
    assert 'BREAKERS["pages"]["shared_cookies"]: expected a list of cookie names' in text
    assert 'BREAKERS["pages"]: unknown setting "max_bytes"' in text
