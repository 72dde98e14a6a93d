"""Command line: ``python -m example_apps.upstream [--port 8001] [--mode healthy] ...``."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from example_apps.upstream.control import ControlError, parse_control
from example_apps.upstream.modes import Mode
from example_apps.upstream.runner import Upstream

#: Command-line option for each control field, for error messages.
OPTIONS = {
    "mode": "--mode",
    "status": "--status",
    "delay_ms": "--delay-ms",
    "error_rate": "--error-rate",
    "seed": "--seed",
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m example_apps.upstream",
        description="A flaky HTTP service (inventory, recommendations) with a control API.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="service port (default: 8001)")
    parser.add_argument(
        "--control-port",
        type=int,
        default=None,
        help="control port, open in every mode (default: --port + 1000; 0 picks a free port)",
    )
    parser.add_argument(
        "--mode",
        choices=[mode.value for mode in Mode],
        default=Mode.HEALTHY.value,
        help="initial mode (default: healthy)",
    )
    parser.add_argument("--status", type=int, help="status of errors/flaky mode (default: 500)")
    parser.add_argument("--delay-ms", type=float, help="delay of slow mode (default: 1000)")
    parser.add_argument("--error-rate", type=float, help="error probability of flaky mode")
    parser.add_argument("--seed", type=int, help="RNG seed of flaky mode (default: 0)")
    parser.add_argument(
        "--max-hang",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="longest a request hangs before its connection is closed (default: 300)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the upstream until Ctrl-C (or SIGTERM); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for option, port in (("--port", args.port), ("--control-port", args.control_port)):
        if port is not None and not 0 <= port <= 65535:
            parser.error(f"{option} must be from 0 to 65535")
    control_port = args.control_port
    if control_port is None:
        control_port = args.port + 1000 if args.port else 0
        if control_port > 65535:
            parser.error(f"--port {args.port} + 1000 is not a port; give --control-port")
    payload: dict[str, object] = {"mode": args.mode}
    for field in ("status", "delay_ms", "error_rate", "seed"):
        if getattr(args, field) is not None:
            payload[field] = getattr(args, field)
    try:
        parse_control(payload)
    except ControlError as exc:
        flag = OPTIONS.get(exc.field or "")
        parser.error(f"{flag}: {exc.message}" if flag else exc.message)

    settings = {name: value for name, value in payload.items() if name != "mode"}
    upstream = Upstream(
        args.host,
        args.port,
        control_port,
        mode=args.mode,
        max_hang_s=args.max_hang,
        quiet=args.quiet,
        **settings,
    )
    try:
        upstream.start()
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host} port {args.port} or {control_port}: {exc}",
            file=sys.stderr,
        )
        return 1
    # Ctrl-C and SIGTERM both stop cleanly, even if the parent started us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"Upstream service:  {upstream.url}  (mode: {upstream.state.settings})")
    print(f"  try it:          curl {upstream.url}/inventory/SKU-1")
    print(f"Control API:       {upstream.control_url}  (open in every mode)")
    modes = "|".join(mode.value for mode in Mode)
    body = '{"mode":"hang"}'
    print(f"  switch modes:    curl -X PUT {upstream.control_url} -d '{body}'  ({modes})")
    print("Ctrl-C to stop.", flush=True)
    try:
        while not upstream.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        upstream.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
