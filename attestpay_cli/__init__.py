"""The `attestpay` command: what a newcomer, an operator and an auditor run."""

from __future__ import annotations

import click


class Failed(click.ClickException):
    """Bad input or a service that refused or did not answer: exit status 2, with the reason."""

    exit_code = 2
