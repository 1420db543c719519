"""Settings from ATTESTPAY_* environment variables, loaded once through `get_settings()`."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_KEYS = {"", "change-me", "changeme", "dev", "development", "secret"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATTESTPAY_", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///attestpay.db"
    migrate_on_start: bool = True

    rpc_url: str | None = None  # None: the embedded eth-tester chain, in process
    deployment_file: Path | None = None  # {"chainId", "escrow", "registry"}; required with rpc_url

    siwe_domain: str = "localhost:8000"  # the authority a SIWE message must name
    siwe_uri: str = "http://localhost:8000"
    nonce_ttl_seconds: int = 600
    session_ttl_seconds: int = 86_400
    max_message_age_seconds: int = 600  # a SIWE message without Expiration Time is this long valid

    # An operator key that exists from the start, so the first API keys can be issued over HTTP.
    operator_api_key: SecretStr | None = None

    sign_ins_per_minute: int = 20  # per client address
    writes_per_minute: int = 600  # per wallet or API key

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        key = self.operator_api_key.get_secret_value() if self.operator_api_key else None
        if self.environment == "production":
            if key is not None and (key.lower() in PLACEHOLDER_KEYS or len(key) < 32):
                raise ValueError("ATTESTPAY_OPERATOR_API_KEY is a placeholder or shorter than 32 characters")
            if self.rpc_url is None:
                raise ValueError("production needs ATTESTPAY_RPC_URL; the embedded chain is for development")
        if self.rpc_url is not None and self.deployment_file is None:
            raise ValueError("ATTESTPAY_RPC_URL needs ATTESTPAY_DEPLOYMENT_FILE (the escrow and registry addresses)")
        return self


@cache
def get_settings() -> Settings:
    return Settings()
