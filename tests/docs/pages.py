"""What the documentation's examples assume, page by page (see ``docblocks.py``).

``PAGE_ENVS[page]`` is the environment of a page, or of each of its sections. A page that
is not listed runs with no help: its blocks must be complete on their own.

Run by the tests in-process, except the Django environments: Django is configured once
per process, so each Django unit runs in its own interpreter:
``python -m tests.docs.pages UNIT_ID RESULTS.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import socket
import sys
import tempfile
import types
import warnings
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.docs.docblocks import DOCS, Env, Unit, execute, read_blocks, run_unit, split_files, units

PYTEST_INI = """\
[pytest]
filterwarnings =
    error
"""
PYTEST_ARGS = (
    *("-q", "-p", "no:cacheprovider", "--import-mode=importlib", "--assert=plain"),
    *("-p", "breaker_core.pytest_plugin"),
)
"""Options of the pytest runs of test blocks, made with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``.

Plugins are named rather than loaded from their entry points (loading every installed
plugin costs a second per run): breakerpanel's own (what its entry point loads, checked by
``tests/plugin``), and pytest-django in the Django subprocesses. ``--assert=plain``: the
modules the tests use are imported already (the blocks ran), too late to rewrite asserts.
"""

# -- the names examples take for granted ---------------------------------------------------

SHOP_BREAKERS = {
    "defaults": {"failure_threshold": 5, "window": "10s", "reset_timeout": "10s"},
    "dependencies": {
        "inventory": {
            "url": "http://inventory.internal:8000",
            "timeout": "2s",
            "routes": ["/checkout/*"],
        },
        "recommendations": {
            "url": "http://recs.internal:8000",
            "slow_call_duration": "800ms",
            "stale_for": "5m",
        },
    },
}
"""The settings most pages show: the shop's two dependencies."""


class InventoryAPI:
    """A client of the inventory service, as the examples call it."""

    def get_stock(self, sku: str) -> int:
        return 48


class RecommendationsAPI:
    """A client of the recommendations service."""

    def for_user(self, user_id: int) -> list[str]:
        return ["SKU-16", "SKU-3", "SKU-10"]

    def record_purchase(self, user_id: int, sku: str) -> None:
        return None


def shop_names() -> dict[str, object]:
    """Services, settings and a registry, for pages that use them without building them."""
    from breaker_core import Registry

    breakers = _settings()
    return {
        "BREAKERS": breakers,
        "registry": Registry.from_settings(breakers),
        "inventory_api": InventoryAPI(),
        "recommendations_api": RecommendationsAPI(),
    }


def _settings() -> dict[str, Any]:
    return json.loads(json.dumps(SHOP_BREAKERS))  # a fresh copy: pages may change it


def index_names() -> dict[str, object]:
    def render_unavailable(retry_after: float) -> str:
        return f"back in {retry_after:.0f}s"

    def render_product(sku: str, stock: int) -> str:
        return f"{sku}: {stock} in stock"

    return {
        **shop_names(),
        "render_unavailable": render_unavailable,
        "render_product": render_product,
    }


def index_check(ns: dict[str, Any], printed: str) -> None:
    assert ns["product_page"]("SKU-1") == "SKU-1: 48 in stock"
    assert ns["recommended_for"](7) == ["SKU-16", "SKU-3", "SKU-10"]


def readme_check(ns: dict[str, Any], printed: str) -> None:
    assert ns["stock"]("SKU-1") == 48
    assert ns["recommended_for"](7) == ["SKU-16", "SKU-3", "SKU-10"]


def engine_names() -> dict[str, object]:
    """``fn``, ``afn``, ``send``...: the placeholders of the engine's overview."""

    def fn(*args: object, **kwargs: object) -> str:
        return "ok"

    async def afn(*args: object, **kwargs: object) -> str:
        return "ok"

    class Response:
        status = 503

    def send() -> Response:
        return Response()

    return {**shop_names(), "fn": fn, "afn": afn, "args": ("SKU-1",), "kwargs": {}, "send": send}


def engine_check(ns: dict[str, Any], printed: str) -> None:
    from breaker_core import State

    breaker = ns["breaker"]
    assert breaker.state is State.CLOSED
    assert breaker.snapshot()["failures"] == 1  # the attempt that saw a 503


def guard_check(ns: dict[str, Any], printed: str) -> None:
    registry = ns["registry"]
    assert ns["recommended_for"](7) == ["SKU-16", "SKU-3", "SKU-10"]
    registry["recommendations"].force_open()
    assert ns["recommended_for"](7) == ["SKU-16", "SKU-3", "SKU-10"]  # the stored result
    assert ns["recommended_for"](8) == []  # nothing stored: the fallback


def migrating_names() -> dict[str, object]:
    """The services of the examples; ``pricing_client`` answers like a pricing service."""
    import httpx

    def prices(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"sku": request.url.path.rsplit("/", 1)[-1], "price": 990})

    client = httpx.Client(transport=httpx.MockTransport(prices), base_url="http://pricing.internal")
    return {**shop_names(), "pricing_client": client}


def migrating_check(ns: dict[str, Any], printed: str) -> None:
    assert printed == "990\n"
    assert ns["stock_or_none"]("SKU-1") == 48
    assert ns["recommended_for"](7) == ["SKU-16", "SKU-3", "SKU-10"]
    assert ns["price"]("SKU-1") == 990


PEERS = {
    "pybreaker": 'pip install pybreaker, or the bench extra: pip install -e ".[bench]"',
    "circuitbreaker": 'pip install circuitbreaker, or the bench extra: pip install -e ".[bench]"',
}


@dataclasses.dataclass
class OutboxEntry:
    kind: str
    key: str
    amount: int


class Outbox:
    """Rows to deliver, as an outbox table would hold them."""

    def __init__(self) -> None:
        self.entries: dict[str, OutboxEntry] = {}

    def add(self, kind: str, *, key: str, amount: int) -> None:
        self.entries.setdefault(key, OutboxEntry(kind, key, amount))

    def pending(self) -> list[OutboxEntry]:
        return list(self.entries.values())

    def done(self, entry: OutboxEntry) -> None:
        del self.entries[entry.key]


class LedgerAPI:
    def __init__(self) -> None:
        self.recorded: dict[str, int] = {}

    def record(self, key: str, amount: int) -> None:
        self.recorded.setdefault(key, amount)


def when_not_names() -> dict[str, object]:
    return {
        "outbox": Outbox(),
        "ledger_api": LedgerAPI(),
        "recommendations_api": RecommendationsAPI(),
    }


def when_not_check(ns: dict[str, Any], printed: str) -> None:
    assert printed.splitlines() == [
        "rejected: one client's bad input closed checkout for everybody",
        "[True]",
        "closed",
    ]
    assert ns["ledger_api"].recorded == {"sale-1017": 2500}
    assert ns["outbox"].pending() == []
    assert ns["tax"].state.value == "closed"


def http_names() -> dict[str, object]:
    import httpx

    from breaker_core import Registry

    return {"Registry": Registry, "my_transport": httpx.HTTPTransport()}


def http_check(ns: dict[str, Any], printed: str) -> None:
    assert ns["stock"] == {"sku": "SKU-1", "stock": 48}  # the upstream answered
    assert ns["registry"]["inventory"].snapshot()["successes"] == 2


@contextlib.contextmanager
def fresh_prometheus_registry() -> Any:
    """A fresh default prometheus registry for the page, so nothing is left registered."""
    import prometheus_client

    saved = prometheus_client.REGISTRY
    prometheus_client.REGISTRY = prometheus_client.CollectorRegistry()
    try:
        yield
    finally:
        prometheus_client.REGISTRY = saved


class OperationsEnv(Env):
    def setup(self, ns: dict[str, Any], stack: ExitStack) -> None:
        stack.enter_context(fresh_prometheus_registry())
        super().setup(ns, stack)


def operations_check(ns: dict[str, Any], printed: str) -> None:
    assert b"breakerpanel_calls_total" in ns["body"]
    assert ns["content_type"].startswith("text/plain")


def upstream_names() -> dict[str, object]:
    """``up``: an upstream holding one request in ``hang``, as the page's example waits for.

    The request is sent on a plain socket and never read: no client thread to outlive the page.
    """
    from example_apps.upstream import Upstream

    up = Upstream(mode="hang").start()
    client = socket.create_connection(("127.0.0.1", up.port), timeout=10)
    client.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    return {"up": up, "_client": client}


class UpstreamEnv(Env):
    def setup(self, ns: dict[str, Any], stack: ExitStack) -> None:
        super().setup(ns, stack)
        stack.callback(ns["_client"].close)
        stack.callback(ns["up"].stop)


class SdksEnv(Env):
    """The SDK page's examples call a local fake of the Stripe and Twilio APIs."""

    def setup(self, ns: dict[str, Any], stack: ExitStack) -> None:
        from tests.sdks.fakes import FakeAPIs

        fake = stack.enter_context(FakeAPIs())
        for variable in ("STRIPE_API_BASE", "TWILIO_API_BASE"):
            saved = os.environ.get(variable)
            os.environ[variable] = fake.url
            stack.callback(_restore_environ, variable, saved)
        ns["_fake"] = fake
        super().setup(ns, stack)


def _restore_environ(variable: str, saved: str | None) -> None:
    if saved is None:
        os.environ.pop(variable, None)
    else:
        os.environ[variable] = saved


def sdks_check(ns: dict[str, Any], printed: str) -> None:
    import stripe
    from twilio.base.exceptions import TwilioRestException

    assert printed.split() == ["succeeded", "True", "True"]  # every call reached the fake
    fake, charge, notify = ns["_fake"], ns["charge"], ns["notify"]
    fake.set_mode("decline")
    assert {charge(500) for _ in range(8)} == {"declined: Your card was declined."}
    fake.set_mode("errors")
    failed = 0
    for _ in range(5):  # the page's failure_threshold
        try:
            charge(500)
        except stripe.APIError:
            failed += 1
    assert failed == 5
    sent = fake.requests
    assert charge(500) == "payments are unavailable, please try again in a minute"
    assert fake.requests == sent  # the refused charge sent nothing
    with contextlib.suppress(TwilioRestException):
        notify("+15558675310")
    assert fake.requests == sent + 1  # Twilio has its own breaker, still closed


# -- frameworks ------------------------------------------------------------------------------


class FakeLogin(types.ModuleType):
    """``flask_login``, as far as the Flask page uses it (it is not a dependency)."""

    class _User:
        is_authenticated = True
        is_staff = True
        is_admin = False

    current_user = _User()


class FlaskEnv(Env):
    """Flask pages: once a block defines ``create_app``, ``app`` is an app in its context."""

    def setup(self, ns: dict[str, Any], stack: ExitStack) -> None:
        super().setup(ns, stack)
        if "flask_login" not in sys.modules:
            sys.modules["flask_login"] = FakeLogin("flask_login")
            stack.callback(sys.modules.pop, "flask_login", None)

    def after_block(self, ns: dict[str, Any], stack: ExitStack) -> None:
        if "app" not in ns and callable(ns.get("create_app")):
            from jinja2 import ChoiceLoader, DictLoader

            ns["app"] = app = ns["create_app"]()
            app.jinja_loader = ChoiceLoader([DictLoader(FLASK_TEMPLATES), app.jinja_env.loader])
            stack.enter_context(app.app_context())


def flask_names() -> dict[str, object]:
    return {"BREAKERS": _settings()}


def starlette_names() -> dict[str, object]:
    """The Starlette page's ``create_app(registry)`` ("your app factory") and friends."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from breaker_core.testing import FakeClock
    from breaker_starlette import BreakerMiddleware

    def create_app(registry: Any) -> Starlette:
        async def checkout(request: Any) -> PlainTextResponse:
            return PlainTextResponse("order form")

        app = Starlette(routes=[Route("/checkout", checkout)])
        app.add_middleware(BreakerMiddleware, registry=registry)
        return app

    async def any_asgi_app(scope: Any, receive: Any, send: Any) -> None:
        raise NotImplementedError

    return {"create_app": create_app, "fake_clock": FakeClock(), "any_asgi_app": any_asgi_app}


class DjangoEnv(Env):
    """Django configured in this process: from the page's ``settings.py`` block or ``settings``.

    Any other keys Django needs are filled in (a secret key, an in-memory database; no
    allowed hosts: Django's test client needs its test environment, as in a project). A
    ``urls.py`` block becomes the ``ROOT_URLCONF``;
    every path its patterns do not match answers 200 "ok", so that tests can request pages
    the examples guard without writing their views.
    """

    subprocess = True

    def __init__(
        self,
        names: Any = None,
        *,
        settings: Callable[[], Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(names, **kwargs)
        self.settings = settings

    def setup(self, ns: dict[str, Any], stack: ExitStack) -> None:
        super().setup(ns, stack)
        if self.settings is not None:
            configure_django(dict(self.settings()))

    def on_module(self, name: str, module: types.ModuleType, ns: dict[str, Any]) -> None:
        if name == "settings" or name.endswith(".settings"):
            configure_django({key: value for key, value in vars(module).items() if key.isupper()})
        elif name == "urls" or name.endswith(".urls"):
            use_urls(name, module)


def configure_django(values: dict[str, Any]) -> None:
    import django
    from django.conf import settings

    urls = types.ModuleType("docs_urls")
    urls.urlpatterns = []  # type: ignore[attr-defined]
    sys.modules["docs_urls"] = urls
    use_urls("docs_urls", urls)
    values = {
        "SECRET_KEY": "docs-tests-only-not-secret",
        "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        "DEFAULT_AUTO_FIELD": "django.db.models.AutoField",
        "USE_TZ": True,
        "ROOT_URLCONF": "docs_urls",
        **values,
    }
    settings.configure(**values)
    django.setup()


def use_urls(name: str, module: types.ModuleType) -> None:
    from django.conf import settings
    from django.http import HttpResponse
    from django.urls import clear_url_caches, re_path

    def ok(request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("ok")

    module.urlpatterns.append(re_path(r"", ok))  # type: ignore[attr-defined]
    if settings.configured:
        settings.ROOT_URLCONF = name
        clear_url_caches()


def page_settings(page: str, module: str) -> Callable[[], dict[str, Any]]:
    """The settings (upper-case names) of the file block ``module`` of ``page``."""

    def settings() -> dict[str, Any]:
        for block in read_blocks(DOCS / page):
            for name, _, offset, code in split_files(block.code):
                if name == module:
                    ns: dict[str, Any] = {"__name__": module}
                    execute(code, block, offset, ns)
                    return {key: value for key, value in ns.items() if key.isupper()}
        raise LookupError(f"no block of {page} is the file of {module}")

    return settings


def stock_printed(printed: str) -> None:
    """The quickstarts print the upstream's answer for SKU-1, as their comments show it."""
    assert printed.splitlines()[0] == "{'sku': 'SKU-1', 'stock': 48}"


# -- the examples, during an outage ------------------------------------------------------------

SWEEP_BOUND = 5.0
"""Seconds within which every page of an example must answer, the dependency hanging included
(the examples' timeouts are 1 s and 2 s; a breaker's rejection is immediate)."""


DEFAULT_TIMEOUT_BOUND = 6.0
"""For examples whose dependency has no ``timeout`` of its own: the default, 5 s, and a margin."""


def _survives(
    send: Callable[[str, str], int], pages: list[str], registry: Any, bound: float = SWEEP_BOUND
) -> None:
    from tests.docs.docblocks import current_upstream
    from tests.docs.outage import reset_all, sweep

    problems = sweep(current_upstream(), send, pages, reset=reset_all(registry), bound=bound)
    assert not problems, "the example fails during an outage:\n" + "\n".join(problems)


def flask_survives(app: Any, pages: list[str]) -> None:
    """Flask's test client, with exceptions answered as in production (a 500)."""
    client = app.test_client()
    with app.app_context():
        registry = app.extensions["breakers"]
    _survives(lambda method, path: client.open(path, method=method).status_code, pages, registry)


def asgi_survives(app: Any, registry: Any, pages: list[str]) -> None:
    """Starlette's test client, lifespan run, server errors answered as a 500."""
    from starlette.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        _survives(lambda method, path: client.request(method, path).status_code, pages, registry)


def django_test_environment() -> None:
    """Let Django's test client in (its host, ``testserver``), unless that is done already."""
    from django.test.utils import setup_test_environment

    with contextlib.suppress(RuntimeError):  # by the page, or by pytest-django
        setup_test_environment()


def django_survives(pages: list[str]) -> None:
    """Django's test client; an exception a view raises counts as a 500."""
    from django.test import Client

    from breaker_django import breakers

    django_test_environment()
    client = Client(raise_request_exception=False)
    _survives(lambda method, path: client.generic(method, path).status_code, pages, breakers)


DJANGO_TEMPLATES = {
    "shop/product.html": "{{ sku }}: {% if stock is None %}stock unknown{% else %}{{ stock }} in "
    "stock{% endif %}",
}
"""The templates django.md's views render."""


def django_check(ns: dict[str, Any], printed: str) -> None:
    """django.md's product view, routed, and the page's guarded URLs, during an outage."""
    import importlib

    from django.conf import settings
    from django.template import engines
    from django.test import Client
    from django.urls import clear_url_caches, path

    urls = importlib.import_module(settings.ROOT_URLCONF)
    urls.urlpatterns.insert(0, path("product/<sku>/", ns["product"]))
    clear_url_caches()
    with tempfile.TemporaryDirectory(prefix="breakerpanel-docs-templates-") as folder:
        for name, text in DJANGO_TEMPLATES.items():
            (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / name).write_text(text)
        engine = engines["django"].engine
        engine.dirs = [*engine.dirs, folder]
        django_test_environment()
        answer = Client().get("/product/SKU-1/")
        assert answer.content == b"SKU-1: 48 in stock", (answer.status_code, answer.content[:300])
        django_survives(["GET /product/SKU-1/", "GET /checkout/", "GET /breakers/"])


def jinja_names() -> dict[str, object]:
    return {"BREAKERS": _settings()}


def jinja_check(ns: dict[str, Any], printed: str) -> None:
    template = ns["env"].from_string(
        '{% breaker "recommendations", stale_for=0 %}picks{% fallback %}bestsellers{% endbreaker %}'
    )
    assert template.render() == "picks"
    ns["registry"]["recommendations"].force_open()
    assert template.render() == "bestsellers"
    ns["registry"]["recommendations"].reset()
    # The page's own block, which calls the service, during an outage: each "request" is
    # one render, and it must never raise or wait past the dependency's timeout.
    assert "SKU-" in ns["html"]

    def send(method: str, path: str) -> int:
        user = int(path.rsplit("/", 1)[1])
        ns["page"].render(user_id=user, recommendations=ns["recommendations"])
        return 200

    _survives(send, ["GET /recommendations/42"], ns["registry"], bound=DEFAULT_TIMEOUT_BOUND)


def testing_flask_check(ns: dict[str, Any], printed: str) -> None:
    flask_survives(ns["create_app"](), ["POST /checkout/"])


def testing_starlette_check(ns: dict[str, Any], printed: str) -> None:
    asgi_survives(ns["app"], ns["registry"], ["POST /checkout"])


def testing_django_check(ns: dict[str, Any], printed: str) -> None:
    django_survives(["GET /checkout/"])


def quickstart_django_check(ns: dict[str, Any], printed: str) -> None:
    stock_printed(printed)
    django_survives(["GET /", "GET /product/SKU-1/", "GET /checkout/"])


def quickstart_flask_check(ns: dict[str, Any], printed: str) -> None:
    stock_printed(printed)
    flask_survives(ns["app"], ["GET /", "GET /product/SKU-1", "POST /checkout/"])


def quickstart_asgi_check(ns: dict[str, Any], printed: str) -> None:
    stock_printed(printed)
    asgi_survives(ns["app"], ns["registry"], ["GET /products/SKU-1", "POST /checkout"])


FLASK_TEMPLATES = {
    "product.html": "{{ sku }}: {{ 'stock unknown' if stock is none else stock ~ ' in stock' }}",
    "paused.html": "Checkout is paused for a moment.",
    "gift_cards.html": "Gift cards",
    "gift_cards_paused.html": "Gift cards are paused for a moment.",
}
"""The templates flask.md's views render (a page shows views, not every template)."""


def flask_check(ns: dict[str, Any], printed: str) -> None:
    flask_survives(ns["app"], ["GET /product/SKU-1", "POST /orders/reserve", "GET /gift-cards"])


def starlette_check(ns: dict[str, Any], printed: str) -> None:
    pages = ["GET /products/SKU-1", "GET /checkout", "GET /breakers/", "POST /api/reserve/SKU-1"]
    asgi_survives(ns["app"], ns["registry"], pages)


def quickstart_check(ns: dict[str, Any], printed: str) -> None:
    lines = printed.splitlines()
    assert lines[:2] == ["48", "{'sku': 'SKU-1', 'stock': 48}"]
    assert len(ns["recommended_for"](42)) == 3  # three SKUs from the upstream
    ns["inventory"].force_open()
    assert ns["stock_or_none"]("SKU-1") is None


# -- the pages -----------------------------------------------------------------------------

_testing_starlette = Env(self_contained_tests=True, check=testing_starlette_check)

PAGE_ENVS: dict[str, Env | dict[str, Env]] = {
    "README.md": Env(shop_names, check=readme_check),
    "index.md": Env(index_names, check=index_check),
    "engine.md": Env(engine_names, check=engine_check),
    "guard.md": Env(shop_names, check=guard_check),
    "http.md": Env(http_names, check=http_check),
    "jinja.md": Env(jinja_names, check=jinja_check),
    "operations.md": OperationsEnv(shop_names, check=operations_check),
    "upstream.md": UpstreamEnv(upstream_names),
    "sdks.md": SdksEnv(check=sdks_check),
    "django.md": DjangoEnv(check=django_check),
    "flask.md": FlaskEnv(flask_names, check=flask_check),
    # A block rebinds ``app`` to show the middleware around any ASGI app; the blocks
    # after it go on decorating the FastAPI app.
    "starlette.md": Env(starlette_names, keep=("app",), check=starlette_check),
    "migrating.md": Env(migrating_names, optional=PEERS, check=migrating_check),
    "when-not.md": Env(when_not_names, check=when_not_check),
    "quickstart.md": {
        "Django": DjangoEnv(check=quickstart_django_check),
        "Flask": Env(check=quickstart_flask_check),
        "FastAPI and Starlette": Env(check=quickstart_asgi_check),
        "Plain Python": Env(shop_names, check=quickstart_check),
    },
    "testing.md": {
        "": Env(self_contained_tests=True),
        "Django": DjangoEnv(
            settings=page_settings("quickstart.md", "mysite.settings"),
            self_contained_tests=True,
            check=testing_django_check,
        ),
        "Flask": Env(self_contained_tests=True, check=testing_flask_check),
        "Starlette and FastAPI": _testing_starlette,
        "More": _testing_starlette,  # its conftest imports the section above's shop.main
    },
}


def find_unit(unit_id: str) -> Unit:
    for unit in units(PAGE_ENVS):
        if unit.id == unit_id:
            return unit
    raise KeyError(unit_id)


# -- running a unit in a subprocess -----------------------------------------------------------


def run_tests_here(module_name: str, source: str, *, plugins: tuple[str, ...] = ()) -> str | None:
    """Run a test module with pytest in this process; None when it passes, else the output.

    Not pytester's in-process run: its snapshot of ``sys.modules`` drops what the run
    imported first, and a library that imports lazily (httpx imports httpcore on its first
    transport) keeps references to the dropped modules.
    """
    import pytest

    output = io.StringIO()
    saved_cwd, saved_path = os.getcwd(), list(sys.path)
    saved_autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    with tempfile.TemporaryDirectory(prefix="breakerpanel-docs-") as name:
        folder = Path(name)
        (folder / "pytest.ini").write_text(PYTEST_INI)
        path = folder / f"{module_name}.py"
        path.write_text(source)
        args = [str(path), *PYTEST_ARGS, *(arg for plugin in plugins for arg in ("-p", plugin))]
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        try:
            os.chdir(folder)
            with contextlib.redirect_stdout(output):
                status = pytest.main([*args, "-c", str(folder / "pytest.ini"), "--rootdir", name])
        finally:
            os.chdir(saved_cwd)
            sys.path[:] = saved_path
            if saved_autoload is None:
                os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
            else:
                os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved_autoload
    return None if status == 0 else output.getvalue()


def run_django_tests(module_name: str, source: str) -> str | None:
    """The same, with pytest-django (in the Django subprocesses only)."""
    return run_tests_here(module_name, source, plugins=("pytest_django.plugin",))


def main(argv: list[str]) -> int:
    unit_id, out = argv
    warnings.simplefilter("error")
    results = run_unit(find_unit(unit_id), run_django_tests)
    Path(out).write_text(json.dumps({key: dataclasses.asdict(r) for key, r in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
