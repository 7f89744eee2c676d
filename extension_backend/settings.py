"""The service's settings: one typed, frozen object built from `WILDFLAG_*` variables.

Precedence, highest first: values passed in code (tests), environment variables, the TOML
file named by `WILDFLAG_CONFIG`, then the defaults below. `wildflag.example.toml` at the
repository root documents every key. Nothing else in the service reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MiB = 1024 * 1024


def default_data_dir() -> Path:
    """Where data lives when `WILDFLAG_DATA_DIR` is unset: the XDG data home."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "wildflag"


class Settings(BaseSettings):
    """Everything an operator can set. Frozen: build a new one to change a value."""

    model_config = SettingsConfigDict(env_prefix="WILDFLAG_", frozen=True, extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = None
    log_level: str = "INFO"

    # Limits on what one submission may hold. They keep a single request from exhausting
    # memory or disk; each rejection names the limit it hit.
    max_request_bytes: int = Field(default=40 * MiB, ge=1024)
    max_images: int = Field(default=10, ge=0)
    max_image_bytes: int = Field(default=15 * MiB, ge=1024)
    max_image_pixels: int = Field(default=40_000_000, ge=1)  # a 48 MP phone photo, no more
    max_snapshot_bytes: int = Field(default=20 * MiB, ge=1024)
    max_text_chars: int = Field(default=20_000, ge=1)
    max_field_chars: int = Field(default=1_000, ge=1)
    max_url_chars: int = Field(default=2_048, ge=16)

    # Anonymous intake per client address: enough for a person flagging listings by hand,
    # too few for a script to flood the units.
    anonymous_reports_per_minute: int = Field(default=20, ge=1)
    # Proof of work (extension_backend/proof_of_work.py): an anonymous client that solves a
    # challenge from GET /api/v1/proof-of-work (about 2**bits SHA-256 hashes) and sends it
    # in X-Wildflag-Proof is held to the higher limit instead. Off: no challenges, and a
    # proof sent anyway is ignored (the base limit applies).
    proof_of_work: bool = True
    proof_of_work_bits: int = Field(default=14, ge=4, le=28)
    proof_of_work_lifetime_seconds: float = Field(default=300.0, ge=10)
    anonymous_pow_reports_per_minute: int = Field(default=120, ge=1)
    # Reports per minute per bearer token: a person's (officer, unit admin…), and the
    # Telegram bot's, which relays everyone's reports and limits each user itself.
    # Networks (CIDR, e.g. "203.0.113.0/24", or single addresses) whose reports are refused
    # with 403: an operator's answer to a source that floods or abuses intake.
    blocked_networks: list[IPvAnyNetwork] = Field(default_factory=list)
    token_reports_per_minute: int = Field(default=60, ge=1)
    bot_reports_per_minute: int = Field(default=600, ge=1)
    # Reverse proxies (networks) whose X-Forwarded-For is believed: only when the direct
    # peer is one of them is the client the rightmost forwarded address that is not itself
    # a trusted proxy. Empty: the header is ignored (anyone can send it).
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)

    # Apply migrations and seed the units directory when the service starts. Turn off
    # when migrations are run as a separate deployment step (`wildflag db upgrade`).
    migrate_on_start: bool = True

    # Dashboard sign-in: a session lasts at most `session_hours` and ends after
    # `session_idle_minutes` without a request. The cookie is Secure (and `__Host-`) when
    # the browser came over HTTPS or `public_url` is https ("auto"), or always / never.
    session_hours: float = Field(default=12.0, gt=0)
    session_idle_minutes: float = Field(default=120.0, gt=0)
    secure_cookies: Literal["auto", "always", "never"] = "auto"

    # The yearly figures for the CITES Secretariat write counts below this as "<N", so that
    # no seller or reporter can be singled out.
    secretariat_suppress_below: int = Field(default=3, ge=1)

    # Flood protection: once a unit's channels were told of a case, further reports of it
    # within this many minutes are counted on the case (and in the dashboard) but send no
    # new notification; the next one after the quiet period carries the count.
    update_quiet_minutes: float = Field(default=10.0, ge=0)

    # The delivery worker: sends the outbox (webhooks, …) to the units' channels.
    delivery_worker: bool = True  # run it inside `wildflag serve`; off in tests driving it
    delivery_poll_seconds: float = Field(default=2.0, gt=0)  # idle wait between polls
    delivery_batch_size: int = Field(default=20, ge=1)  # rows claimed per poll
    # A claimed row is due again after the lease: a crashed instance's claims are retried.
    # Keep it well above delivery_timeout_seconds, or a slow send is sent twice.
    delivery_lease_seconds: float = Field(default=300.0, gt=0)
    delivery_timeout_seconds: float = Field(default=30.0, gt=0)  # one send attempt
    # Retry after min(cap, base * 2**attempts) seconds, times a jitter of 0.5–1.5 so that
    # a unit's receiver coming back is not hit by every backlog row at once.
    delivery_backoff_base_seconds: float = Field(default=30.0, gt=0)
    delivery_backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    # Attempts before a row is dead (logged as an error and audited as "delivery.dead").
    delivery_max_attempts: int = Field(default=12, ge=1)
    # Staging switch: every webhook delivery goes to this one URL instead of the unit's.
    delivery_staging_target: str | None = None
    # Webhooks reach public addresses only: never loopback, private, link-local, CGNAT,
    # multicast, reserved or cloud metadata ones (checked after DNS, at send time). List
    # here the networks (CIDR) where units' receivers legitimately live, e.g. "10.20.0.0/16".
    delivery_allow_private_networks: list[IPvAnyNetwork] = Field(default_factory=list)

    # Evidence links in deliveries: `GET /api/v1/evidence/{sha256}?case=…&expires=…&sig=…`,
    # signed with this secret (HMAC-SHA256). Unset: a random secret is generated on first
    # use and kept in `<data_dir>/evidence-link.secret`. Set it (the same on every instance)
    # when several instances serve one database, or a link works only on the one that made
    # it. Changing it invalidates every link already sent. The proof-of-work challenges
    # are signed with a key derived from it, so they too work on every instance.
    evidence_link_secret: str | None = Field(default=None, min_length=32)
    # How long a link in a delivery opens its file; after that the link answers 410 and
    # the unit reads the evidence through the case API with its token.
    evidence_link_ttl_days: float = Field(default=30.0, gt=0)

    # E-mail channel: the SMTP server that sends unit notifications.
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    # STARTTLS: "auto" when the server offers it, "required" or "off"; smtp_tls is
    # implicit TLS from the first byte (port 465).
    smtp_starttls: Literal["auto", "required", "off"] = "auto"
    smtp_tls: bool = False
    smtp_from: str = "wildflag <wildflag@localhost>"

    # Telegram: the bot token, and the Bot API base URL (a self-hosted server, or a fake in
    # tests). The bot and the Telegram delivery channel share them.
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        """The database to use: `database_url`, else SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'wildflag.sqlite3'}"

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @property
    def base_url(self) -> str:
        """The public base URL that receipts and status links point at."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("WILDFLAG_CONFIG")
        if config_file:
            path = Path(config_file).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"WILDFLAG_CONFIG names {path}, which is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)
