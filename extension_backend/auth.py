"""Bearer tokens for officers, units and clients such as the bot; receipt tokens for
anonymous reporters; the Telegram bot speaking for a linked officer.

Both are random secrets of 256 bits; only their SHA-256 is stored (a slow hash adds nothing
for secrets that cannot be guessed), so a copy of the database opens nothing.

A token of role `bot` is a trusted client, not a person: alone it may only send anonymous
reports (without the per-address limit, as every bot report comes from one address) and
manage Telegram links. With `X-Telegram-User: <id>` it acts as the account that Telegram
user linked, with exactly that account's rights. The header is refused from anyone but a
`bot` token, so no officer can borrow another's identity by sending it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Account, ApiToken, TelegramLink, Unit
from db.types import utcnow
from extension_backend.errors import ApiError

ROLES = ("officer", "unit_admin", "observer", "coordinator", "admin", "bot")
#: The role of trusted clients (the Telegram bot): no rights over cases of its own.
BOT_ROLE = "bot"
#: The header with which a `bot` token names the Telegram user it acts for.
TELEGRAM_USER_HEADER = "X-Telegram-User"
#: What an unlinked Telegram user is told (the bot shows it as it is).
NOT_LINKED_MESSAGE = (
    "your Telegram account is not linked to a wildflag account: ask your unit admin for a "
    "code, then link your account with /link CODE first"
)
#: Roles that see every unit's cases.
GLOBAL_ROLES = frozenset({"coordinator", "admin"})
#: Telegram user ids fit in 64 bits (the `telegram_links` column is a BIGINT).
MAX_TELEGRAM_USER_ID = 2**63 - 1
TOKEN_PREFIX = "wf_"  # noqa: S105 - a marker that makes leaked tokens easy to scan for


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_secret(secret: str, stored_hash: str | None) -> bool:
    """Constant-time check of `secret` against a stored hash."""
    return stored_hash is not None and hmac.compare_digest(hash_secret(secret), stored_hash)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, when they sent a valid bearer token."""

    account_id: int
    role: str
    unit_code: str | None
    name: str
    # Set when the bot acts for this account's linked Telegram user.
    telegram_user_id: int | None = None

    @property
    def actor(self) -> str:
        return f"account:{self.account_id}"

    @property
    def is_bot(self) -> bool:
        """The trusted client itself, not a person it speaks for."""
        return self.role == BOT_ROLE and self.telegram_user_id is None

    def sees_unit(self, unit_code: str) -> bool:
        return self.role in GLOBAL_ROLES or self.unit_code == unit_code


async def create_token(
    session: AsyncSession, *, role: str, unit_code: str | None, name: str
) -> tuple[Account, str]:
    """A new account with `role` (scoped to `unit_code`) and its bearer token.

    The token is returned once and never stored in clear.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role in {"officer", "unit_admin", "observer"} and not unit_code:
        raise ValueError(f"a {role} token needs --unit")
    if unit_code is not None:
        unit_code = unit_code.upper()
        if await session.get(Unit, unit_code) is None:
            raise ValueError(f"no unit {unit_code!r}")
    account = Account(name=name, role=role, unit_code=unit_code)
    session.add(account)
    await session.flush()
    _, secret = await add_token(session, account)
    await session.commit()
    return account, secret


async def add_token(session: AsyncSession, account: Account) -> tuple[ApiToken, str]:
    """A new bearer token for an existing account (flushed, not committed); the secret is
    returned once and stored only as its hash, with its first characters to tell it apart."""
    assert account.id is not None
    secret = new_secret(TOKEN_PREFIX)
    token = ApiToken(account_id=account.id, token_hash=hash_secret(secret), prefix=secret[:10])
    session.add(token)
    await session.flush()
    return token, secret


def bearer_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <token>'")
    return value.strip()


async def authenticate(session: AsyncSession, token: str | None) -> Principal | None:
    """The principal for a bearer token; None when no token was sent. Raises 401."""
    if token is None:
        return None
    row = (
        await session.exec(
            select(ApiToken, Account)
            .join(Account, Account.id == ApiToken.account_id)
            .where(ApiToken.token_hash == hash_secret(token))
        )
    ).first()
    if row is None:
        raise ApiError(401, "unauthorized", "unknown or revoked token")
    api_token, account = row
    if not same_secret(token, api_token.token_hash) or api_token.revoked_at or account.disabled:
        raise ApiError(401, "unauthorized", "unknown or revoked token")
    api_token.last_used_at = utcnow()
    session.add(api_token)
    await session.commit()
    assert account.id is not None
    return Principal(account.id, account.role, account.unit_code, account.name)


def telegram_user_of(request: web.Request) -> int | None:
    """The Telegram user id in `X-Telegram-User`, if sent. 400 when it is not one."""
    raw = request.headers.get(TELEGRAM_USER_HEADER)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ApiError(400, "bad_request", f"{TELEGRAM_USER_HEADER} must be a number") from None
    if not 0 < value <= MAX_TELEGRAM_USER_ID:
        # Past the BIGINT column's range the lookup itself would fail (a 500).
        raise ApiError(400, "bad_request", f"{TELEGRAM_USER_HEADER} must be a Telegram user id")
    return value


async def linked_account(session: AsyncSession, telegram_user_id: int) -> Account | None:
    """The enabled account this Telegram user linked, if any."""
    row = (
        await session.exec(
            select(Account)
            .join(TelegramLink, col(TelegramLink.account_id) == Account.id)
            .where(TelegramLink.telegram_user_id == telegram_user_id)
        )
    ).first()
    return row if row is not None and not row.disabled else None


async def authenticate_request(session: AsyncSession, request: web.Request) -> Principal | None:
    """Who is calling: the bearer token's account, or, for a `bot` token that names a
    Telegram user, that user's linked account. None for anonymous callers.

    401 for a bad token; 403 when the header comes without a bot token, or names a
    Telegram user who has not linked an account.
    """
    principal = await authenticate(session, bearer_of(request))
    telegram_user = telegram_user_of(request)
    if telegram_user is None:
        return principal
    if principal is None or principal.role != BOT_ROLE:
        raise ApiError(
            403, "forbidden", f"{TELEGRAM_USER_HEADER} is accepted only with a bot token"
        )
    account = await linked_account(session, telegram_user)
    if account is None:
        raise ApiError(403, "telegram_not_linked", NOT_LINKED_MESSAGE)
    assert account.id is not None
    return Principal(account.id, account.role, account.unit_code, account.name, telegram_user)
