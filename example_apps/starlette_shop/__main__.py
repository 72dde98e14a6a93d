"""``python -m example_apps.starlette_shop [--host 127.0.0.1] [--port 8004]``: run the shop."""

from __future__ import annotations

import argparse

import uvicorn

from example_apps.starlette_shop.settings import DEFAULT_UPSTREAM


def main(argv: list[str] | None = None) -> None:
    """Serve the shop under uvicorn until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m example_apps.starlette_shop")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8004)
    args = parser.parse_args(argv)
    print(f"Shop:       http://{args.host}:{args.port}/login?user=alice")
    print(f"Dashboard:  http://{args.host}:{args.port}/breakers/  (admin / $SHOP_ADMIN_PASSWORD)")
    print(f"Upstreams:  $INVENTORY_URL, $RECOMMENDATIONS_URL (default {DEFAULT_UPSTREAM})")
    uvicorn.run("example_apps.starlette_shop:app", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
