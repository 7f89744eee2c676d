"""Linking a Telegram user to an account with a one-time code, and undoing it.

A unit admin issues a code for an officer's account (API or `wildflag accounts link-code`);
the officer sends `/link CODE` to the bot in a private chat; the bot redeems it with its
token, naming the Telegram user. From then on the bot may act as that account for that
Telegram user (`auth.authenticate_request`). Codes are short enough to type on a phone, so
they are single use and expire after `LINK_CODE_TTL`; only their SHA-256 is stored.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Account, TelegramLink, TelegramLinkCode
from db.types import utcnow
from extension_backend.auth import BOT_ROLE, hash_secret

#: Long enough to pass it on by phone or chat, short enough that a leaked code is soon dead.
LINK_CODE_TTL = timedelta(minutes=15)
#: Crockford's base32 without I, L, O, U, as report references: easy to read and type.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 10  # 50 bits: beyond guessing within a code's 15 minutes through the bot


class LinkError(ValueError):
    """A code that is unknown, used or expired, or an account that cannot be linked."""


def normalise_code(code: str) -> str:
    """What the user typed, as stored: capitals, without spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch not in " -")


def linkable(account: Account | None) -> bool:
    """People can be linked; the bot's own account and disabled accounts cannot."""
    return account is not None and not account.disabled and account.role != BOT_ROLE


async def issue_code(
    session: AsyncSession, account: Account, issued_by: int | None, now: datetime | None = None
) -> tuple[str, datetime]:
    """A new code for `account` and when it expires. The code is shown once, never stored."""
    if not linkable(account):
        raise LinkError(f"account {account.id} cannot be linked to Telegram")
    assert account.id is not None
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_CHARS))
    expires_at = (now or utcnow()) + LINK_CODE_TTL
    session.add(
        TelegramLinkCode(
            code_hash=hash_secret(raw),
            account_id=account.id,
            issued_by_id=issued_by,
            expires_at=expires_at,
        )
    )
    await session.flush()
    half = CODE_CHARS // 2
    return f"{raw[:half]}-{raw[half:]}", expires_at


async def redeem_code(session: AsyncSession, code: str, telegram_user_id: int) -> Account:
    """Link `telegram_user_id` to the code's account, replacing any earlier link of either.

    The code is spent in one guarded UPDATE, so two redemptions racing cannot both succeed.
    """
    refused = LinkError("this code is unknown, used or expired: ask your unit admin for a new one")
    now = utcnow()
    spent = await session.exec(
        update(TelegramLinkCode)
        .where(
            col(TelegramLinkCode.code_hash) == hash_secret(normalise_code(code)),
            col(TelegramLinkCode.used_at).is_(None),
            col(TelegramLinkCode.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(TelegramLinkCode.account_id))
    )
    account_id = spent.scalars().first()
    account = await session.get(Account, account_id) if account_id is not None else None
    if account is None or not linkable(account):
        raise refused
    await session.exec(
        delete(TelegramLink).where(
            or_(
                col(TelegramLink.telegram_user_id) == telegram_user_id,
                col(TelegramLink.account_id) == account_id,
            )
        )
    )
    session.add(TelegramLink(telegram_user_id=telegram_user_id, account_id=account.id or 0))
    return account


async def void_code(session: AsyncSession, code: str) -> bool:
    """Spend a code without linking anyone (it was seen where it should not have been)."""
    result = await session.exec(
        update(TelegramLinkCode)
        .where(
            col(TelegramLinkCode.code_hash) == hash_secret(normalise_code(code)),
            col(TelegramLinkCode.used_at).is_(None),
        )
        .values(used_at=utcnow())
        .returning(col(TelegramLinkCode.id))
    )
    return result.scalars().first() is not None


async def unlink(session: AsyncSession, telegram_user_id: int) -> int | None:
    """Remove the Telegram user's link; the account it was linked to, or None."""
    link = (
        await session.exec(
            select(TelegramLink).where(TelegramLink.telegram_user_id == telegram_user_id)
        )
    ).first()
    if link is None:
        return None
    await session.delete(link)
    return link.account_id
