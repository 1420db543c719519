"""`attestpay up`: a complete local network in one command, for a first deal of your own. anvil with
the contracts and a test token (mUSD), the API with a worker, three oracle nodes with their own
keys, funded client, provider and arbiter keystores; everything under one working directory,
stopped together on Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx

from attestpay.devchain import AnvilChain, Party, dev_party, free_port, start_anvil
from attestpay.devstack import service_env, start_api, start_worker, stop
from attestpay.keystore import write_keystore
from attestpay_cli import Failed
from attestpay_cli.wallet import ADDRESS_BOOK

TOKENS_TO_CLIENT = 1_000_000 * 10**18  # mUSD minted to the client's wallet
# The network's keys are anvil's published ones: a costly KDF would protect nothing, while every
# command that signs decrypts its keystore (about 0.8 s each at scrypt's usual 2^18, 10 ms at 2^12).
PUBLIC_KEY_SCRYPT_N = 2**12
DEFAULT_PASSWORD = "attestpay-dev"  # local keys only: every dev account's key is public anyway


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("attestpay-net"),
    show_default=True,
    help="an empty or new directory for keys, database, evidence and logs",
)
@click.option("--port", type=int, default=8000, show_default=True, help="the API's port (0: any free port)")
@click.option(
    "--password",
    envvar="ATTESTPAY_WALLET_PASSWORD",
    default=DEFAULT_PASSWORD,
    show_default=True,
    help="the keystores' password (also written to WORKDIR/password)",
)
def up(workdir: Path, port: int, password: str) -> None:
    """Start anvil, the API with a worker, three oracle nodes and funded wallets; Ctrl-C stops them all."""
    if workdir.exists() and any(workdir.iterdir()):
        raise Failed(f"{workdir} is not empty: `attestpay up` starts a fresh network; choose a new --workdir")
    workdir.mkdir(parents=True, exist_ok=True)
    workdir = workdir.resolve()
    if port and not _free(port):
        raise Failed(f"port {port} is taken: give --port 0 (any free port) or another one")
    processes: list[subprocess.Popen] = []
    chain = None
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a process manager's stop, like Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        chain = start_anvil()
        network = Network(workdir, chain, password, port or free_port())
        processes += network.start()
        click.echo("\n".join(network.summary()))
        (workdir / "up.pid").write_text(str(os.getpid()))
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        dead = next(p for p in processes if p.poll() is not None)
        raise Failed(f"a service stopped ({' '.join(map(str, dead.args[:4]))}...): see {workdir / 'logs'}")
    except KeyboardInterrupt:
        click.echo("stopping the network", err=True)
    except (FileNotFoundError, RuntimeError) as exc:
        raise Failed(f"the network did not start: {exc} (logs in {workdir / 'logs'})") from None
    finally:
        stop(*reversed(processes))
        if chain is not None:
            chain.stop()
        (workdir / "up.pid").unlink(missing_ok=True)


def _free(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}", timeout=0.5)
    except httpx.HTTPError:
        return True
    return False


class Network:
    """The files and processes of one local network under `workdir`."""

    def __init__(self, workdir: Path, chain: AnvilChain, password: str, port: int) -> None:
        self.workdir, self.chain, self.password, self.port = workdir, chain, password, port
        self.logs = workdir / "logs"
        self.wallets = workdir / "wallets"
        self.evidence = workdir / "evidence"
        self.data = workdir / "data"
        for directory in (self.logs, self.wallets, self.evidence, self.data):
            directory.mkdir()
        self.password_file = workdir / "password"
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)
        self.operator_key_file = workdir / "operator.key"
        self.operator_key_file.write_text(secrets.token_hex(24) + "\n")
        self.operator_key_file.chmod(0o600)
        self.deployment = workdir / "deployment.json"
        self.database = os.environ.get("ATTESTPAY_DATABASE_URL") or f"sqlite:///{workdir / 'attestpay.db'}"
        self.url = f"http://127.0.0.1:{port}"
        self.node_ports = [free_port() for _ in range(3)]

    def start(self) -> list[subprocess.Popen]:
        chain = self.chain
        parties = {"client": chain.client, "provider": chain.provider, "arbiter": chain.arbiter}
        for name, party in parties.items():
            write_keystore(
                self.wallets / f"{name}.json", self.password, bytes.fromhex(party.key[2:]), PUBLIC_KEY_SCRYPT_N
            )
        chain.token.functions.mint(chain.client.address, TOKENS_TO_CLIENT).transact({"from": dev_party(0).address})
        relayer = self.workdir / "relayer.json"
        write_keystore(relayer, self.password, bytes.fromhex(chain.relayer.key[2:]), PUBLIC_KEY_SCRYPT_N)
        oracles = sorted(chain.oracles, key=lambda p: int(p.address, 16))
        book = {f"oracle-{n}": o.address for n, o in enumerate(oracles, 1)}
        (self.wallets / ADDRESS_BOOK).write_text(json.dumps(book, indent=2))
        node_key = secrets.token_hex(24)
        env = service_env(
            chain,
            self.workdir,
            self.database,
            str(relayer),
            self.password,
            ATTESTPAY_ENVIRONMENT="development",
            ATTESTPAY_OPERATOR_API_KEY=self.operator_key_file.read_text().strip(),
            ATTESTPAY_ORACLE_NODES=json.dumps([f"http://127.0.0.1:{p}" for p in self.node_ports]),
            ATTESTPAY_ORACLE_NODE_API_KEY=node_key,
            ATTESTPAY_EVIDENCE_DIR=str(self.evidence),
            ATTESTPAY_SIGN_INS_PER_MINUTE="600",  # each CLI command signs in anew
            ATTESTPAY_POLL_SECONDS="0.2",
        )
        deployment = json.loads(self.deployment.read_text()) | {"token": chain.token.address}  # service_env wrote it
        self.deployment.write_text(json.dumps(deployment, indent=2))
        api, url = start_api(env | {"ATTESTPAY_MIGRATE_ON_START": "true"}, self.logs / "api.log", self.port)
        processes = [api, start_worker(env, self.logs / "worker.log")]
        push_key = httpx.post(
            f"{url}/v1/api-keys",
            json={"name": "oracle-nodes", "role": "oracle"},
            headers={"X-API-Key": env["ATTESTPAY_OPERATOR_API_KEY"]},
        ).json()["key"]
        for n, (oracle, port) in enumerate(zip(oracles, self.node_ports, strict=True), 1):
            processes.append(self._oracle_node(n, oracle, port, node_key, push_key))
        self._write_env(oracles)
        return processes

    def _oracle_node(self, n: int, oracle: Party, port: int, node_key: str, push_key: str) -> subprocess.Popen:
        home = self.workdir / f"oracle-{n}"
        home.mkdir()
        write_keystore(home / "key.json", self.password, bytes.fromhex(oracle.key[2:]), PUBLIC_KEY_SCRYPT_N)
        command = [
            str(Path(sys.executable).parent / "attestpay-oracle"),
            "serve",
            "--port",
            str(port),
        ]
        command += ["--escrow", self.chain.escrow.address, "--chain-id", str(self.chain.chain_id)]
        command += ["--rpc", self.chain.url, "--registry", self.chain.registry.address]  # it anchors by itself
        command += ["--backend", self.url, "--data", str(self.data)]
        command += [
            "--evidence",
            str(self.evidence),
            "--queue",
            str(home / "queue"),
            "--keystore",
            str(home / "key.json"),
        ]
        command += ["--password-file", str(self.password_file)]
        log = (self.logs / f"oracle-{n}.log").open("ab")
        keys = {"ORACLE_API_KEY": node_key, "ORACLE_BACKEND_API_KEY": push_key}  # never in argv (ps shows it)
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ | keys)
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return process
            except httpx.HTTPError:
                if process.poll() is not None:
                    raise RuntimeError(f"oracle node {n} exited") from None
                time.sleep(0.1)
        raise RuntimeError(f"oracle node {n} did not start")

    def _write_env(self, oracles: list[Party]) -> None:
        """env.sh: what the commands of the README's walkthrough read (`. WORKDIR/env.sh`)."""
        home = self.workdir / "oracle-1"
        values = {
            "ATTESTPAY_API": self.url,
            "ATTESTPAY_RPC_URL": self.chain.url,
            "ATTESTPAY_DEPLOYMENT_FILE": self.deployment,
            "ATTESTPAY_WALLET_DIR": self.wallets,
            "ATTESTPAY_WALLET_PASSWORD": self.password,
            "ORACLE_RPC_URL": self.chain.url,
            "ORACLE_REGISTRY": self.chain.registry.address,
            "ORACLE_KEYSTORE": home / "key.json",
            "ORACLE_PASSWORD_FILE": self.password_file,
            "ORACLE_QUEUE_DIR": home / "queue",
            "ORACLE_EVIDENCE_DIR": self.evidence,
            "ORACLE_DATA_DIR": self.data,
        }
        (self.workdir / "env.sh").write_text("".join(f"export {k}='{v}'\n" for k, v in values.items()))

    def summary(self) -> list[str]:
        w = self.workdir
        return [
            f"dashboard:      {self.url}/app/",
            f"API docs:       {self.url}/docs",
            f"chain (anvil):  {self.chain.url} (chain id {self.chain.chain_id}), deployment {self.deployment}",
            f"token:          mUSD at {self.chain.token.address} (1,000,000 mUSD minted to the client)",
            f"wallets:        {', '.join(str(self.wallets / f'{n}.json') for n in ('client', 'provider', 'arbiter'))}",
            f"                password in {self.password_file}; oracle names in {self.wallets / ADDRESS_BOOK}",
            f"oracle nodes:   {', '.join(f'http://127.0.0.1:{p}' for p in self.node_ports)} (keys in "
            f"{w}/oracle-N/key.json)",
            f"operator key:   {self.operator_key_file}",
            f"database:       {self.database}",
            f"evidence data:  {self.data} (file sources' paths start here)",
            f"logs:           {self.logs}",
            f"environment:    . {w / 'env.sh'}   (for the commands of the README's walkthrough)",
            "Ctrl-C stops everything",
        ]
