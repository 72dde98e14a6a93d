"""``manage.py breakers``: list the breakers, or change one where state is shared.

::

    manage.py breakers                       # NAME  STATE  FAILURES  FAILURE RATE  RETRY IN
    manage.py breakers --json                # the status document (breakerpanel.status/1)
    manage.py breakers list [--json]         # the same, as flask breakers / python -m breaker_core
    manage.py breakers open inventory        # also: close, reset, disable, metrics-only

With ``memory://`` storage each server process keeps its own state, which a
command (another process) cannot reach: it says so and changes nothing.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser  # type: ignore[import-untyped]

from breaker_core import ConfigurationError, Registry
from breaker_core.ops.actions import (
    ACTIONS,
    ActionError,
    apply_action,
    prepare_listing,
)
from breaker_core.ops.status import status_document
from breaker_core.ops.tables import format_table, table_rows
from breaker_django import conf

_OPEN = {"open", "forced_open"}
_WARN = {"half_open", "disabled", "metrics_only"}


class Command(BaseCommand):  # type: ignore[misc]  # Django is untyped
    """List breakers with their state, or apply ``ACTION NAME``."""

    help = (
        "List every breaker with its state, failures in the window, failure rate and time "
        "until a probe; or change one: breakers ACTION NAME, where ACTION is one of "
        + ", ".join(ACTIONS)
        + " (needs shared storage: memory:// state lives inside each server process)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``[list | ACTION NAME] [--json]``."""
        parser.add_argument(
            "action", nargs="?", help=f"list (the default), or one of: {', '.join(ACTIONS)}"
        )
        parser.add_argument("name", nargs="?", help="the dependency, as in settings.BREAKERS")
        parser.add_argument(
            "--json", action="store_true", help="print the JSON status document instead"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the table, or apply the action.

        Raises:
            CommandError: the settings are invalid, an argument is missing, the
                action was refused (unknown action or dependency, state not
                shared), or the shared storage is unreachable; nothing was changed
                (but when the storage failed during the change, which is said).
        """
        try:
            registry = conf.get_registry()
        except ConfigurationError as exc:
            raise CommandError(f"settings.BREAKERS is invalid:\n{exc}") from None
        action, name = options["action"], options["name"]
        if action in (None, "list"):
            try:
                note = prepare_listing(registry)
            except ActionError as exc:
                raise CommandError(str(exc)) from None
            if options["json"]:
                self.stdout.write(json.dumps(status_document(registry), indent=2))
            else:
                self._table(registry)
            if note is not None:
                self.stderr.write(note, style_func=self.style.NOTICE)
            return
        if name is None:
            raise CommandError(
                f"breakers {action} needs the dependency's name, like: breakers {action} "
                f"{next(iter(registry.names), 'inventory')}"
            )
        try:
            # Syncs with shared storage first and refuses when it does not answer.
            outcome = apply_action(registry, action, name, out_of_process=True)
        except ActionError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(outcome))

    def _table(self, registry: Registry) -> None:
        rows = table_rows(registry)
        lines = format_table(rows)
        self.stdout.write(self.style.MIGRATE_HEADING(lines[0]))
        for row, line in zip(rows[1:], lines[1:], strict=True):
            state = row[1]
            if state in _OPEN:
                line = self.style.ERROR(line)
            elif state in _WARN:
                line = self.style.WARNING(line)
            self.stdout.write(line)
        if len(rows) == 1:
            self.stdout.write('No dependencies are declared in settings.BREAKERS["dependencies"].')
