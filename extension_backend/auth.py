"""Bearer tokens for officers, units and clients such as the bot; receipt tokens for
anonymous reporters.

Both are random secrets of 256 bits; only their SHA-256 is stored (a slow hash adds nothing
for secrets that cannot be guessed), so a copy of the database opens nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Account, ApiToken, Unit
from db.types import utcnow
from extension_backend.errors import ApiError

ROLES = ("officer", "unit_admin", "observer", "coordinator", "admin")
#: Roles that see every unit's cases.
GLOBAL_ROLES = frozenset({"coordinator", "admin"})
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

    @property
    def actor(self) -> str:
        return f"account:{self.account_id}"

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
    secret = new_secret(TOKEN_PREFIX)
    assert account.id is not None
    session.add(ApiToken(account_id=account.id, token_hash=hash_secret(secret), prefix=secret[:10]))
    await session.commit()
    return account, secret


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
