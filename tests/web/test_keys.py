"""One rule for key values (vary_on and guard key=) and guard results keyed on identity."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breaker_core import CircuitOpenError, Registry
from breaker_core.keys import PlainValueError, encode_key
from breaker_core.web.fragments import fragment_key


class Color(enum.Enum):
    RED = 1
    ALSO_RED = "1"


plain = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=5),
        st.binary(max_size=5),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.uuids(),
        st.dates(),
        st.datetimes(),
        st.times(),
        st.timedeltas(),
        st.sampled_from(Color),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
    max_leaves=6,
)


def _same(a, b):
    """Equal as key values: same types all the way down, and equal."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, decimal.Decimal | float):
        return str(a) == str(b)
    if isinstance(a, datetime.datetime):
        return a.isoformat() == b.isoformat()
    return a == b


@given(plain, plain)
def test_the_encoding_is_injective(a, b):
    assert (encode_key(a) == encode_key(b)) == _same(a, b)


@pytest.mark.parametrize(
    "value",
    [Color.RED, b"x", datetime.timedelta(seconds=3), decimal.Decimal("1.5"), uuid.uuid4()],
)
def test_jinja_vary_on_and_the_engine_accept_the_same_values(value):
    from breaker_jinja.keys import vary_on_values

    assert vary_on_values([value], "t.html") == [value]
    fragment_key("recs", "t.html", 1, [value])  # the engine accepts what Jinja accepts
    registry = Registry.from_settings({"dependencies": {"recs": {"stale_for": 60}}})
    guarded = registry.guard("recs", key=lambda v: v)(lambda v: "ok")
    assert guarded(value) == "ok"


@pytest.mark.parametrize("value", [object(), {"a": 1}, {1, 2}, [object()]])
def test_every_entry_point_refuses_the_same_values(value):
    from breaker_jinja.keys import vary_on_values

    with pytest.raises(PlainValueError):
        vary_on_values(value, "t.html")
    with pytest.raises(PlainValueError):
        fragment_key("recs", "t.html", 1, [value])
    registry = Registry.from_settings({"dependencies": {"recs": {"stale_for": 60}}})
    guarded = registry.guard("recs", key=lambda v: v)(lambda v: "ok")
    with pytest.raises(PlainValueError, match=r"key=\.\.\.: expected plain values"):
        guarded(value)


def _tenant_loader(registry, tenant):
    @registry.guard("db", stale_for=60)
    def load() -> str:
        if registry["db"].is_open:
            raise ConnectionError
        return f"data of {tenant}"

    return load


def test_closures_from_one_factory_never_share_results():
    registry = Registry.from_settings({"dependencies": {"db": {"failure_threshold": 1}}})
    alice, bob = _tenant_loader(registry, "alice"), _tenant_loader(registry, "bob")
    assert alice() == "data of alice"
    registry["db"].force_open()
    with pytest.raises(CircuitOpenError):  # nothing kept for bob: the error itself
        bob()
    assert alice() == "data of alice"


def test_two_lambdas_never_share_results():
    registry = Registry.from_settings({"dependencies": {"db": {}}})
    first = registry.guard("db", stale_for=60)(lambda: "first")
    second = registry.guard("db", stale_for=60)(lambda: "second")
    assert (first(), second()) == ("first", "second")
    registry["db"].force_open()
    assert (first(), second()) == ("first", "second")


def test_an_object_key_is_refused_instead_of_keyed_on_its_address():
    class User:
        pass

    registry = Registry.from_settings({"dependencies": {"db": {"stale_for": 60}}})
    profile = registry.guard("db", key=lambda user: user)(lambda user: "profile")
    with pytest.raises(PlainValueError, match="User"):
        profile(User())
