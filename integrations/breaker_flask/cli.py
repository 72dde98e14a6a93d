"""``flask breakers``: list breakers, and change their state where storage is shared.

::

    flask breakers                      # the table (same as "flask breakers list")
    flask breakers --json               # the status document (same as "flask breakers list --json")
    flask breakers open inventory       # also: close, reset, disable, metrics-only

The command runs in its own process. With ``memory://`` storage each server
process keeps its own breakers, so a state change from here could not reach
them: it is refused, nothing is changed and the exit status is 1. Use the
dashboard of the running app, or shared storage.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops) and breaker_jinja.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from breaker_core import Registry
from breaker_core.ops.actions import (
    ACTION_HELP,
    ACTIONS,
    ActionError,
    apply_action,
    prepare_listing,
)
from breaker_core.ops.status import status_document
from breaker_core.ops.tables import format_table, table_rows
from breaker_flask.current import current_registry

__all__ = ["breakers_cli"]


@click.group("breakers", cls=AppGroup, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON status document.")
@click.pass_context
def breakers_cli(ctx: click.Context, as_json: bool) -> None:
    """List circuit breakers; open, close, disable or reset one (shared storage only)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command, as_json=as_json)


def _registry() -> Registry:
    try:
        return current_registry()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None


@breakers_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON status document.")
def list_command(as_json: bool) -> None:
    """Print every breaker with its state, failures, failure rate and retry time."""
    registry = _registry()
    try:
        note = prepare_listing(registry)
    except ActionError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(status_document(registry), indent=2))
    else:
        for line in format_table(table_rows(registry)):
            click.echo(line)
    if note is not None:
        click.echo(note, err=True)


def _action_command(action: str) -> click.Command:
    @click.argument("name")
    def command(name: str) -> None:
        try:
            message = apply_action(_registry(), action, name, out_of_process=True)
        except ActionError as error:
            raise click.ClickException(str(error)) from None
        click.echo(message)

    what = ACTION_HELP.get(action, f"apply {action!r} to breaker NAME")
    help_text = f"{what[0].upper()}{what[1:]}."
    return breakers_cli.command(action, help=help_text)(command)


for _action in ACTIONS:
    _action_command(_action)
