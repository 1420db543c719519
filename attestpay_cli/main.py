"""`attestpay`: start a development chain, deploy, serve the backend and its workers, run the
oracle's commands, verify every payout, play the demo. Human output by default, `--json` for
scripts. Exit status: 0 done, 1 a check failed (verify, the demo), 2 bad input or an unreachable chain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
from eth_account import Account
from web3 import HTTPProvider, Web3

from attestpay.deployment import DeploymentError, deploy_contracts, write
from attestpay.process import restore_recursion_limit
from attestpay_cli import Failed, Group, lifecycle
from attestpay_cli.agreement import agreement
from attestpay_cli.design import design
from attestpay_cli.invoice import invoice
from attestpay_cli.profile import profile
from attestpay_cli.report import report
from attestpay_cli.terms import terms
from attestpay_cli.up import up
from attestpay_cli.wallet import wallet
from oracle.cli import main as oracle_commands
from oracle.errors import OracleError


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
def app() -> None:
    """Milestone escrow settled by M-of-N oracle attestations."""


app.add_command(oracle_commands, name="oracle")
for command in lifecycle.COMMANDS:
    agreement.add_command(command)
app.add_command(agreement)
app.add_command(report)
app.add_command(invoice)
app.add_command(profile)
app.add_command(design)
app.add_command(wallet)
app.add_command(terms)
app.add_command(up)


@app.command()
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("deployment.json"), show_default=True
)
@click.option("--block-time", type=int, help="mine a block every N seconds (default: on each transaction)")
@click.option("--json", "as_json", is_flag=True, help="print the deployment as JSON")
def chain(out: Path, block_time: int | None, as_json: bool) -> None:
    """Start anvil (from npm, Prague) with the contracts deployed; runs until interrupted or terminated."""
    from attestpay.devchain import start_anvil

    try:
        dev = start_anvil(*(("--block-time", str(block_time)) if block_time else ()))
    except (FileNotFoundError, RuntimeError) as exc:
        raise Failed(str(exc)) from None
    dev.deployment(out)
    info = {
        "rpc": dev.url,
        "chainId": dev.chain_id,
        "escrow": dev.escrow.address,
        "registry": dev.registry.address,
        "token": dev.token.address,
        "deployment": str(out),
    }
    click.echo(json.dumps(info) if as_json else "\n".join(f"{k:>10}: {v}" for k, v in info.items()))
    if not as_json:
        click.echo("anvil's dev accounts are funded (mnemonic: test test ... junk); Ctrl-C stops the chain")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a process manager's stop, like Ctrl-C: anvil stops too
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (a script's `&`)
    try:
        dev.process.wait()
    except KeyboardInterrupt:
        dev.stop()


@app.command()
@click.option("--rpc", required=True, help="the chain's JSON-RPC URL")
@click.option(
    "--keystore",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the deployer's encrypted keystore",
)
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="else ATTESTPAY_DEPLOYER_PASSWORD, else a prompt",
)
@click.option("--confirmations", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("deployment.json"), show_default=True
)
@click.option("--json", "as_json", is_flag=True)
def deploy(rpc: str, keystore: Path, password_file: Path | None, confirmations: int, out: Path, as_json: bool) -> None:
    """Deploy the escrow and the registry from a keystore and write the deployment file."""
    if password_file is not None:
        password = password_file.read_text().splitlines()[0]
    else:
        password = os.environ.get("ATTESTPAY_DEPLOYER_PASSWORD") or click.prompt("keystore password", hide_input=True)
    try:
        key = Account.decrypt(json.loads(keystore.read_text()), password)
    except (ValueError, KeyError) as exc:
        raise Failed(f"cannot open the keystore {keystore}: {exc}") from None
    w3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": 30}))
    if not w3.is_connected():
        raise Failed(f"no JSON-RPC node answers at {rpc}")
    say = (lambda _: None) if as_json else (lambda line: click.echo(line, err=True))
    try:
        deployment = deploy_contracts(w3, Account.from_key(key), confirmations, progress=say)
    except DeploymentError as exc:
        raise Failed(str(exc)) from None
    write(deployment, out)
    click.echo(
        json.dumps(deployment, indent=2)
        if as_json
        else f"wrote {out}: escrow {deployment['escrow']}, registry {deployment['registry']}"
    )


@app.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="worker processes beside the API (on the embedded chain: one, in the API's process)",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the backend's API and run its workers, with the ATTESTPAY_* settings (docs/backend.md)."""
    import uvicorn

    from backend.settings import get_settings

    settings = _settings(get_settings)
    processes = []
    if settings.rpc_url is None:
        os.environ["ATTESTPAY_WORKER_IN_PROCESS"] = "true" if workers else "false"
    else:
        processes = [subprocess.Popen([sys.executable, "-m", "backend.engine", "worker"]) for _ in range(workers)]
    get_settings.cache_clear()
    try:
        # proxy_headers off: uvicorn would take X-Forwarded-For from any local peer as the client;
        # the app reads it only from ATTESTPAY_TRUSTED_PROXIES.
        uvicorn.run(
            "backend.api.app:create_app", factory=True, host=host, port=port, log_level="info", proxy_headers=False
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _settings(get_settings):
    """The backend's settings, or one line naming each ATTESTPAY_* variable to fix."""
    from pydantic import ValidationError

    try:
        settings = get_settings()
    except ValidationError as exc:
        raise Failed(f"fix the ATTESTPAY_* settings (docs/backend.md): {settings_problems(exc)}") from None
    if settings.deployment_file is not None and not settings.deployment_file.is_file():
        raise Failed(
            f"ATTESTPAY_DEPLOYMENT_FILE={settings.deployment_file} does not exist: "
            "give the file `attestpay chain` or `attestpay deploy` wrote"
        )
    return settings


def settings_problems(exc) -> str:
    """A pydantic settings error as `ATTESTPAY_NAME: reason; ...`."""
    problems = []
    for error in exc.errors():
        name = "ATTESTPAY_" + "_".join(str(part) for part in error["loc"]).upper() if error["loc"] else None
        reason = error["msg"].removeprefix("Value error, ")
        problems.append(f"{name}: {reason}" if name else reason)
    return "; ".join(problems)


@app.command(
    add_help_option=False,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    short_help="Re-verify every payout from chain data and evidence (the auditor).",
)
@click.pass_context
def verify(ctx: click.Context) -> None:
    """Re-verify every payout from chain data and evidence (the auditor; see `attestpay verify -h`), or an
    audit pack: `attestpay verify --pack FILE [--rpc URL]`."""
    from auditor.__main__ import main as audit

    if any(arg == "--pack" or arg.startswith("--pack=") for arg in ctx.args):
        from attestpay_cli.pack import verify_pack

        verify_pack.main(ctx.args, prog_name="attestpay verify")

    sys.exit(audit(ctx.args or ["--help"], prog="attestpay verify"))


@app.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="an empty or new directory for the database, evidence, oracle queues and audit report "
    "(default: a new temporary one)",
)
@click.option("--json", "as_json", is_flag=True, help="print the whole account as one JSON document")
def demo(workdir: Path | None, as_json: bool) -> None:
    """Play four business agreements end to end on the embedded chain and audit every payout."""
    from attestpay_cli.demo import account, play
    from attestpay_cli.demo.stage import DemoFailed

    if workdir is not None and workdir.exists() and any(workdir.iterdir()):
        raise Failed(f"{workdir} is not empty: the demo starts from a fresh chain and database")
    workdir = workdir or Path(tempfile.mkdtemp(prefix="attestpay-demo-"))
    started = time.monotonic()
    try:
        document = play(workdir, lambda line: click.echo(f"{time.monotonic() - started:6.1f}s  {line}", err=True))
    except DemoFailed as exc:
        raise click.ClickException(f"the demo stopped: {exc} (its files are in {workdir})") from None
    (workdir / "demo.json").write_text(json.dumps(document, indent=2))
    click.echo(json.dumps(document, indent=2) if as_json else account.text(document))
    if not as_json:
        click.echo(f"\nDatabase, evidence, the audit report (audit.html) and this account (demo.json) are in {workdir}")
    if not document["audit"]["passed"]:
        sys.exit(1)


def run() -> None:
    """Entry point: a mistake a lower layer names (a key, a spec, a source) is one line and exit 2."""
    restore_recursion_limit()
    try:
        app()
    except OracleError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    run()
