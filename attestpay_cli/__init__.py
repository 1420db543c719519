"""The `attestpay` command: what a newcomer, an operator and an auditor run."""

from __future__ import annotations

import click


class Failed(click.ClickException):
    """Bad input or a service that refused or did not answer: exit status 2, with the reason."""

    exit_code = 2


class Group(click.Group):
    """A command group whose command list shows each command's whole first sentence, never cut with "..."."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=500)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
