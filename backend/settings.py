"""Settings from ATTESTPAY_* environment variables, loaded once through `get_settings()`."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from attestpay import pricing

WEB_BUILD = Path(__file__).resolve().parent.parent / "build" / "web"  # `make install` bundles the dashboard here
PLACEHOLDER_KEYS = {"", "change-me", "changeme", "dev", "development", "secret"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATTESTPAY_", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///attestpay.db"
    migrate_on_start: bool = True
    # PostgreSQL connections each process keeps open. The API serves at most this many requests at
    # once (its thread pool is sized to match), so no request opens a connection of its own: opening
    # one costs PostgreSQL a process. Replicas x pool size must stay under max_connections.
    database_pool_size: int = Field(default=40, ge=1)

    rpc_url: str | None = None  # None: the embedded eth-tester chain, in process
    deployment_file: Path | None = None  # {"chainId", "escrow", "registry", "block"}; required with rpc_url
    rpc_timeout_seconds: float = 10  # a JSON-RPC call not answered by then is a fault, retried later

    siwe_domain: str = "localhost:8000"  # the authority a SIWE message must name
    siwe_uri: str = "http://localhost:8000"
    nonce_ttl_seconds: int = 600
    session_ttl_seconds: int = 86_400
    max_message_age_seconds: int = 600  # a SIWE message without Expiration Time is this long valid

    # An operator key that exists from the start, so the first API keys can be issued over HTTP.
    operator_api_key: SecretStr | None = None

    sign_ins_per_minute: int = 20  # per client address (the connected peer, or what a trusted proxy says)
    # Proxies (IP addresses or networks) whose X-Forwarded-For names the client; from any other peer the
    # header is ignored. Serve with uvicorn's own proxy handling off (`attestpay serve` does).
    trusted_proxies: list[IPvAnyNetwork] = []

    # Hostile input (docs/security.md): request bodies are capped and scanned before any JSON parser.
    max_body_bytes: int = Field(default=65_536, ge=1_024)  # every route but the two below
    max_terms_body_bytes: int = Field(default=262_144, ge=1_024)  # POST /v1/agreements, PUT /v1/agreements/{id}
    max_json_depth: int = Field(default=32, ge=8, le=1_000)
    writes_per_minute: int = 600  # per wallet or API key

    # Chain engine (backend.engine): the relayer's own key, the indexer, automation, webhooks.
    relayer_keystore: Path | None = None  # an encrypted keystore (eth-account v3 JSON); None: no relayer
    relayer_password: SecretStr | None = None
    confirmations: int = Field(default=1, ge=1)  # a transaction or event counts once this many blocks hold it
    start_block: int | None = None  # where the indexer begins; default: the deployment file's "block", else 0
    log_range: int = Field(default=2_000, ge=1)  # the first eth_getLogs range; it adapts between 1 and max_log_range
    max_log_range: int = Field(default=50_000, ge=1)
    replace_after_seconds: float = 60  # a transaction not mined by then is replaced with higher fees
    # An idle worker looks again after poll_seconds at most, and at once when woken: by work another
    # process or thread committed (NOTIFY on PostgreSQL), or by a new block, asked for every
    # block_poll_seconds (backend.engine.wakeup). The poll is the fallback, not the latency.
    poll_seconds: float = Field(default=0.5, gt=0)
    block_poll_seconds: float = Field(default=0.2, gt=0)
    worker_in_process: bool = False  # run the worker in the API process (the embedded chain needs it)
    oracle_nodes: list[str] = []  # oracle services asked to measure (release requests, deadlines, cadences)
    oracle_node_api_key: SecretStr | None = None
    oracle_node_timeout_seconds: float = Field(default=10, gt=0)  # one node's answer to one ask
    oracle_node_attempts: int = Field(default=3, ge=1)  # asks per node and round (timeouts, faults)
    webhook_max_attempts: int = 10
    evidence_dir: Path | None = None  # the published evidence store the auditor reads (batch files, specs, evidence)
    web_dir: Path = WEB_BUILD  # the dashboard's bundle, served at /app
    # Fiat prices for invoices and journals (attestpay.pricing): JSON, token address or "ETH" ->
    # {"peg": "0.92", "currency": "EUR"} or {"feed": "0x…", "currency": "EUR"}.
    prices: str = ""
    explorer_url: str | None = None  # a block explorer (https://etherscan.io): the dashboard links transactions to it

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        key = self.operator_api_key.get_secret_value() if self.operator_api_key else None
        if self.environment == "production":
            if key is not None and (key.lower() in PLACEHOLDER_KEYS or len(key) < 32):
                raise ValueError("ATTESTPAY_OPERATOR_API_KEY is a placeholder or shorter than 32 characters")
            if self.rpc_url is None:
                raise ValueError("production needs ATTESTPAY_RPC_URL; the embedded chain is for development")
        if self.relayer_keystore is not None and self.relayer_password is None:
            raise ValueError("ATTESTPAY_RELAYER_KEYSTORE needs ATTESTPAY_RELAYER_PASSWORD")
        pricing.parse_sources(self.prices)  # a ValueError names the bad entry
        if self.rpc_url is not None and self.deployment_file is None:
            raise ValueError("ATTESTPAY_RPC_URL needs ATTESTPAY_DEPLOYMENT_FILE (the escrow and registry addresses)")
        return self


@cache
def get_settings() -> Settings:
    return Settings()
