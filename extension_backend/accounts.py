"""People's accounts: created by an operator (`wildflag accounts create`) or a unit admin.

One rule for both: a role a person can hold, a unit for the unit-bound roles (officer, unit
admin, observer), an e-mail nobody else has, a password long enough. `AccountError` says
which rule a request broke.
"""

from __future__ import annotations

import secrets

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Account, Unit
from extension_backend.web_auth import PEOPLE, PasswordError, hash_password, normalise_email

#: Roles bound to one unit; coordinators and admins work across units.
UNIT_ROLES = frozenset({"officer", "unit_admin", "observer"})


class AccountError(ValueError):
    """An account that cannot be made or changed as asked."""


def generated_password() -> str:
    """A password for a new account, shown once (about 96 bits)."""
    return secrets.token_urlsafe(12)


async def create_account(
    session: AsyncSession,
    *,
    email: str,
    role: str,
    unit_code: str | None,
    name: str,
    password: str,
) -> Account:
    """A new person's account (flushed, not committed: the caller audits and commits)."""
    email = normalise_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 320:
        raise AccountError(f"{email!r} is not an e-mail address")
    if role not in PEOPLE:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(sorted(PEOPLE))}")
    if role in UNIT_ROLES and not unit_code:
        raise AccountError(f"a {role} needs a unit (--unit CODE)")
    if unit_code is not None:
        unit_code = unit_code.upper()
        if await session.get(Unit, unit_code) is None:
            raise AccountError(f"no unit {unit_code!r}")
    if (await session.exec(select(Account.id).where(Account.email == email))).first():
        raise AccountError(f"an account with e-mail {email} already exists")
    try:
        password_hash = hash_password(password)
    except PasswordError as exc:
        raise AccountError(str(exc)) from None
    account = Account(
        name=name or email.split("@")[0],
        role=role,
        unit_code=unit_code,
        email=email,
        password_hash=password_hash,
    )
    session.add(account)
    await session.flush()
    return account


async def display_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    """How pages name these accounts to colleagues: the name, else the e-mail's local part."""
    if not ids:
        return {}
    rows = await session.exec(select(Account).where(col(Account.id).in_(ids)))
    return {a.id: a.name or (a.email or "").partition("@")[0] for a in rows.all() if a.id}
