"""``python -m example_apps.flask_shop [--port 8003]``: run the shop on Flask's dev server."""

from __future__ import annotations

import argparse

from example_apps.flask_shop import create_app


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m example_apps.flask_shop",
        description="The breakerpanel example shop, in Flask (upstream URLs from "
        "INVENTORY_URL and RECOMMENDATIONS_URL, default http://127.0.0.1:8001).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8003)
    args = parser.parse_args()
    create_app().run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
