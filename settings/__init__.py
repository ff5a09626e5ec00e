"""One typed settings object, read from ``ATELIER_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Docker (compose) secrets: a file named like the variable, lower case
#: (``/run/secrets/atelier_configurator_secret``), read when the folder exists; the environment
#: variable wins over the file.
SECRETS_DIR = Path("/run/secrets")


class Settings(BaseSettings):
    """Service configuration; every field maps to ``ATELIER_<NAME>`` (see README)."""

    model_config = SettingsConfigDict(
        env_prefix="ATELIER_",
        extra="ignore",
        secrets_dir=SECRETS_DIR if SECRETS_DIR.is_dir() else None,
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    store: Literal["embedded", "redis"] = "embedded"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = Field("atelier", min_length=1, max_length=64)
    data_dir: Path = PROJECT_ROOT / "data"

    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_batch_events: int = Field(10_000, ge=1)
    max_batch_items: int = Field(10_000, ge=1)
    #: requests per key per window; 0 disables rate limiting
    rate_limit_requests: int = Field(6000, ge=0)
    rate_limit_window_s: int = Field(60, ge=1)
    #: seconds an authenticated key is trusted without asking the store again (revocation delay)
    auth_cache_ttl_s: float = Field(5.0, ge=0)
    #: how far in the future an event timestamp may lie (clock skew)
    max_future_skew_s: int = Field(300, ge=0)
    #: seconds between checks of the store for a newly activated model version
    model_poll_s: float = Field(1.0, ge=0)
    #: customers per tenant whose answers each worker precomputes and keeps (LRU)
    reco_cache_customers: int = Field(200_000, ge=0)
    #: key of the variant codes' integrity tag; changing it invalidates every issued code
    configurator_secret: SecretStr = SecretStr("")

    #: slow clients (api.slow_clients, per worker): seconds for a request's line and headers to
    #: arrive, seconds allowed between two reads of its body, seconds an idle keep-alive
    #: connection stays open, and open connections past which a request answers 503 (0: none)
    header_timeout_s: float = Field(10.0, ge=0)
    body_timeout_s: float = Field(30.0, ge=0)
    keep_alive_timeout_s: int = Field(5, ge=1)
    max_connections: int = Field(1000, ge=0)

    #: /metrics names every tenant in its labels (for a scrape on a private network); off: a
    #: scrape without a key shows totals, one with an admin key its own tenant
    metrics_tenant_labels: bool = False

    #: operator logs on standard error: the lowest level written, and json or text lines
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"

    demo_tenant: str = "demo"
    demo_customers: int = Field(3000, ge=10)
    demo_seed: int = 7

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "atelier.sqlite3"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"


@lru_cache
def get_settings() -> Settings:
    return Settings()
