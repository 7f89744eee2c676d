"""Signing in to the dashboard: passwords, authenticator codes, sessions and CSRF tokens.

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed when those change).
An account may enrol an authenticator app (TOTP, RFC 6238, via pyotp); once enrolled, no
sign-in works without a current code. A session is a random secret in an HttpOnly,
SameSite=Strict cookie (Secure over HTTPS, with the `__Host-` prefix); only its SHA-256 is
stored, so a copy of the database signs nobody in. Each session has a synchronizer token
that every form posts back (`csrf_token`); a state-changing request without it, or from
another origin, is refused before the handler runs.

Failed sign-ins are limited per address and per e-mail, so passwords cannot be guessed at
speed, and the answer never says whether the e-mail exists.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Account, WebSession
from db.types import utcnow
from extension_backend import keys
from extension_backend.auth import Principal, hash_secret

#: The cookie's name over plain HTTP (a developer's `make run`) and over HTTPS.
COOKIE = "wildflag_session"
SECURE_COOKIE = "__Host-wildflag_session"
#: Sign-ins that may fail per address or e-mail in `LOGIN_WINDOW` seconds.
LOGIN_FAILURES = 10
LOGIN_WINDOW = 15 * 60.0
#: A session is refreshed in the database at most this often (not on every request).
TOUCH_EVERY = timedelta(minutes=5)
#: Roles that sign in to the dashboard (the bot is a client, not a person).
PEOPLE = frozenset({"officer", "unit_admin", "observer", "coordinator", "admin"})
MIN_PASSWORD = 12

_hasher = PasswordHasher()
# A hash of nothing, checked when the e-mail is unknown so that both answers take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PasswordError(ValueError):
    """A password that may not be used (too short)."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_password(account: Account | None, password: str) -> bool:
    """Whether `password` is the account's; as slow for an unknown account as a known one."""
    stored = account.password_hash if account is not None else None
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(account: Account) -> bool:
    return account.password_hash is not None and _hasher.check_needs_rehash(account.password_hash)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads (typed in, or from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="wildflag")


def check_totp(secret: str, code: str) -> bool:
    """A current code (one step of clock drift either way is accepted)."""
    code = "".join(code.split())
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A dashboard request's person: who (as the API's `Principal`) and their CSRF token."""

    principal: Principal
    session_id: int
    csrf_token: str
    email: str


SIGNED_IN = web.RequestKey("signed_in", SignedIn)


def secure_request(request: web.Request) -> bool:
    """Whether the browser reached us over HTTPS (directly, or as the public URL says)."""
    settings = request.app[keys.SETTINGS]
    if settings.secure_cookies != "auto":
        return settings.secure_cookies == "always"
    return request.secure or (settings.public_url or "").startswith("https://")


def cookie_name(request: web.Request) -> str:
    return SECURE_COOKIE if secure_request(request) else COOKIE


async def start_session(
    request: web.Request, session: AsyncSession, account: Account, response: web.StreamResponse
) -> None:
    """A new session for `account`, its cookie set on `response`."""
    settings = request.app[keys.SETTINGS]
    secret = secrets.token_urlsafe(32)
    assert account.id is not None
    now = utcnow()
    session.add(
        WebSession(
            token_hash=hash_secret(secret),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    response.set_cookie(
        cookie_name(request),
        secret,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=secure_request(request),
        max_age=int(settings.session_hours * 3600),
    )


def end_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(cookie_name(request), path="/")


async def session_of(request: web.Request) -> SignedIn | None:
    """The signed-in person of a dashboard request, or None (no, expired or revoked
    session; a disabled account). Idle sessions end after `session_idle_minutes`."""
    if SIGNED_IN in request:
        return request[SIGNED_IN]
    secret = request.cookies.get(cookie_name(request))
    if not secret:
        return None
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.SESSIONS]() as session:
        row = (
            await session.exec(
                select(WebSession, Account)
                .join(Account, Account.id == WebSession.account_id)  # type: ignore[arg-type]
                .where(WebSession.token_hash == hash_secret(secret))
            )
        ).first()
        if row is None:
            return None
        web_session, account = row
        now = utcnow()
        idle = timedelta(minutes=settings.session_idle_minutes)
        if (
            web_session.revoked_at is not None
            or web_session.expires_at <= now
            or web_session.last_seen_at + idle <= now
            or account.disabled
            or account.role not in PEOPLE
        ):
            return None
        if now - web_session.last_seen_at >= TOUCH_EVERY:
            web_session.last_seen_at = now
            session.add(web_session)
            await session.commit()
        assert account.id is not None and web_session.id is not None
        signed_in = SignedIn(
            Principal(account.id, account.role, account.unit_code, account.name),
            web_session.id,
            web_session.csrf_token,
            account.email or "",
        )
    request[SIGNED_IN] = signed_in
    return signed_in


async def end_sessions(session: AsyncSession, account: Account, *, keep: int | None = None) -> None:
    """Revoke every open session of `account` but `keep` (a password change, a disable)."""
    rows = await session.exec(
        select(WebSession).where(
            WebSession.account_id == account.id,
            WebSession.revoked_at == None,  # noqa: E711 - SQL IS NULL
        )
    )
    now = utcnow()
    for row in rows.all():
        if row.id != keep:
            row.revoked_at = now
            session.add(row)


def same_origin(request: web.Request) -> bool:
    """A state-changing request must come from our own pages: when the browser names the
    origin (`Origin`, else `Referer`), it must be this host. Browsers always send `Origin`
    on cross-site POSTs, so this closes what SameSite cookies leave open."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower()


def csrf_ok(signed_in: SignedIn, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(signed_in.csrf_token, token)
