"""The bot's configuration: one frozen object read from `WILDFLAG_*` variables.

The bot is a separate client of the backend, so it reads its own few variables rather than
the service's `Settings` (importing those would tie the bot to the backend's code). The
names are the ones DESIGN.md fixes; the `WILDFLAG_BOT_*` tuning knobs are the bot's own.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024
#: What Telegram accepts as a webhook `secret_token`: 1-256 of A-Z a-z 0-9 _ -. We ask for
#: at least 16 so that it cannot be guessed; `secrets.token_urlsafe(32)` makes a good one.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")


class ConfigError(ValueError):
    """A missing or malformed setting; the message says which variable to fix."""


def _default_data_dir() -> Path:
    # The same default as the service, so that one WILDFLAG_DATA_DIR serves both.
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "wildflag"


@dataclass(frozen=True)
class BotConfig:
    """Everything the bot needs to run; tests build one directly."""

    token: str
    api_url: str = "http://127.0.0.1:8080"
    telegram_api_url: str = "https://api.telegram.org"
    telegram_file_url: str | None = None
    data_dir: Path = Path(".")
    # The bot's backend token (WILDFLAG_BOT_API_TOKEN; `wildflag tokens create --role bot`).
    # Without it the bot still takes the public's reports (under the backend's per-address
    # limit) but cannot link officers or answer the unit-chat buttons.
    backend_token: str | None = None
    # Per-user limit on confirmed reports: enough for an officer on a busy day, too few to
    # let one Telegram account flood the national units. With a backend token this is the
    # only limit: the backend does not hold the bot to its per-address anonymous limit.
    reports_per_hour: int = 20
    # The backend's default limits (Settings.max_image_bytes / max_images): refusing early
    # in the chat beats a confirmed report the backend then rejects.
    max_photo_bytes: int = 15 * MiB
    max_photos: int = 10
    # One backend call; a slow backend is queued and retried rather than waited on.
    api_timeout_seconds: float = 30.0
    # Retry of queued reports: after min(cap, base * 2**attempts) seconds, checked every tick.
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    retry_tick_seconds: float = 5.0
    log_level: str = "INFO"  # WILDFLAG_LOG_LEVEL, as for the service
    # Webhook mode (`wildflag serve` mounts the bot when the secret is set): Telegram sends
    # it back in X-Telegram-Bot-Api-Secret-Token, and the update path is derived from it.
    webhook_secret: str | None = None  # WILDFLAG_TELEGRAM_WEBHOOK_SECRET
    # The service's public base URL (the same WILDFLAG_PUBLIC_URL the receipts use); Telegram
    # posts updates to it, so in production it is HTTPS and reachable from the internet.
    public_url: str | None = None

    @property
    def state_dir(self) -> Path:
        """Where the bot keeps its state file (languages, receipts, the retry queue)."""
        return self.data_dir / "bot"

    @property
    def _telegram_root(self) -> str:
        # The backend's Telegram channel reads the same variable as the server's root
        # ("https://api.telegram.org"); PTB's own convention ends in "/bot". Take either.
        return self.telegram_api_url.rstrip("/").removesuffix("/bot")

    @property
    def telegram_base_url(self) -> str:
        """python-telegram-bot's `base_url`: the Bot API root followed by `/bot`."""
        return self._telegram_root + "/bot"

    @property
    def telegram_base_file_url(self) -> str:
        """python-telegram-bot's `base_file_url`, derived from the API URL when unset."""
        if self.telegram_file_url:
            return self.telegram_file_url
        return self._telegram_root + "/file/bot"

    @property
    def webhook_path(self) -> str:
        """The update route, `/telegram/<hex>`: derived from the secret, never equal to it.

        The path shows up in access logs and proxy logs; the header secret does not. Deriving
        the path (an HMAC of a fixed label) keeps the logs from giving away the secret, while
        a wrong path still gets a plain 404 that says nothing about the bot.
        """
        if not self.webhook_secret:
            raise ConfigError("WILDFLAG_TELEGRAM_WEBHOOK_SECRET is not set")
        digest = hmac.new(
            self.webhook_secret.encode(), b"wildflag telegram webhook path", hashlib.sha256
        ).hexdigest()
        return f"/telegram/{digest[:32]}"

    @property
    def webhook_url(self) -> str:
        """Where Telegram posts updates; checks every webhook setting, naming what to fix."""
        if not self.webhook_secret or not WEBHOOK_SECRET.fullmatch(self.webhook_secret):
            # Checked here rather than left to setWebhook: Telegram's refusal would only show
            # as a startup failure, and a short secret could be guessed.
            raise ConfigError(
                "WILDFLAG_TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z, a-z, 0-9, "
                "_ and - (Telegram's rule); make one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        if not self.public_url or not self.public_url.startswith(("http://", "https://")):
            raise ConfigError(
                "webhook mode needs WILDFLAG_PUBLIC_URL, the service's public https:// base URL "
                f"that Telegram can reach (it is {self.public_url!r})"
            )
        return self.public_url.rstrip("/") + self.webhook_path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BotConfig:
        """Read the configuration; a missing token is an error that names the variable."""
        env = os.environ if environ is None else environ
        token = env.get("WILDFLAG_TELEGRAM_TOKEN", "").strip()
        if not token:
            raise ConfigError(
                "WILDFLAG_TELEGRAM_TOKEN is not set: create a bot with @BotFather on Telegram "
                "and put the token it gives you in WILDFLAG_TELEGRAM_TOKEN"
            )
        api_url = env.get("WILDFLAG_API_URL", cls.api_url).strip().rstrip("/")
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"WILDFLAG_API_URL must be an http(s) URL, not {api_url!r}")
        data_dir = env.get("WILDFLAG_DATA_DIR")
        # Webhook settings are read here but checked by `webhook_url`, when `wildflag serve`
        # mounts the bot: `wildflag bot` (polling) does not use them and must not fail on them.
        webhook_secret = env.get("WILDFLAG_TELEGRAM_WEBHOOK_SECRET", "").strip() or None
        public_url = env.get("WILDFLAG_PUBLIC_URL", "").strip().rstrip("/") or None
        return cls(
            token=token,
            api_url=api_url,
            telegram_api_url=env.get("WILDFLAG_TELEGRAM_API_URL") or cls.telegram_api_url,
            telegram_file_url=env.get("WILDFLAG_TELEGRAM_FILE_URL") or None,
            data_dir=Path(data_dir).expanduser().resolve() if data_dir else _default_data_dir(),
            backend_token=env.get("WILDFLAG_BOT_API_TOKEN") or None,
            reports_per_hour=_int(env, "WILDFLAG_BOT_REPORTS_PER_HOUR", cls.reports_per_hour),
            max_photo_bytes=_int(env, "WILDFLAG_BOT_MAX_PHOTO_BYTES", cls.max_photo_bytes),
            max_photos=_int(env, "WILDFLAG_BOT_MAX_PHOTOS", cls.max_photos),
            log_level=env.get("WILDFLAG_LOG_LEVEL") or cls.log_level,
            webhook_secret=webhook_secret,
            public_url=public_url,
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1")
    return value
