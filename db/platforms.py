"""The platform directory: seeding it from `db/data/platforms.csv` and reading it.

The shipped directory names the marketplaces and social sites where wildlife is offered,
with the domains a listing is matched by. Policy and report addresses are filled in only
where they were known for certain; operators complete the rest on the platforms page.
Seeding adds an entry only when no row has its name or any of its domains, so it never
overwrites or duplicates what an operator edited or renamed.
"""

from __future__ import annotations

import csv
import logging
from importlib import resources

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Listing, Platform, PlatformReferral
from matching.referrals import PlatformStats, match_platform, referral_stats

log = logging.getLogger(__name__)

#: The columns of `db/data/platforms.csv`; `domains` is space-separated.
COLUMNS = ("name", "domains", "policy_url", "report_url", "contact_email", "notes")


def platform_rows() -> list[dict[str, str]]:
    """The rows of the shipped directory."""
    text = resources.files("db").joinpath("data/platforms.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def platform_seeds() -> list[Platform]:
    """The shipped directory as (unsaved) rows."""
    return [
        Platform(
            name=row["name"],
            domains=row["domains"].split(),
            policy_url=row["policy_url"],
            report_url=row["report_url"],
            contact_email=row["contact_email"],
            notes=row["notes"],
        )
        for row in platform_rows()
    ]


async def seed_platforms(session: AsyncSession) -> int:
    """Add the shipped platforms that are not there yet (by name or any domain); returns how
    many were added. Flushes, does not commit: the caller's seeding transaction does."""
    existing = (await session.exec(select(Platform))).all()
    names = {p.name.casefold() for p in existing}
    domains = {d.lower() for p in existing for d in p.domains}
    added = 0
    for seed in platform_seeds():
        if seed.name.casefold() in names or domains.intersection(seed.domains):
            continue
        session.add(seed)
        names.add(seed.name.casefold())
        domains.update(seed.domains)
        added += 1
    await session.flush()
    if added:
        log.info("seeded %d platforms", added)
    return added


async def directory(session: AsyncSession) -> list[Platform]:
    """Every platform, by name."""
    return list((await session.exec(select(Platform).order_by(col(Platform.name)))).all())


async def suggested_platform(
    session: AsyncSession, case_id: int, platforms: list[Platform]
) -> Platform | None:
    """The directory entry of the case's (first) listing that has one."""
    listings = (
        await session.exec(
            select(Listing).where(Listing.case_id == case_id).order_by(col(Listing.id))
        )
    ).all()
    entries = [(p.id, p.domains) for p in platforms if p.id is not None]
    by_id = {p.id: p for p in platforms}
    for listing in listings:
        found = match_platform(listing.host, listing.platform, entries)
        if found is not None:
            return by_id[found]
    return None


async def directory_stats(session: AsyncSession) -> dict[int, PlatformStats]:
    """Referrals made, removed and median days to removal, per platform id."""
    rows = await session.exec(
        select(
            PlatformReferral.platform_id,
            PlatformReferral.state,
            PlatformReferral.referred_at,
            PlatformReferral.resolved_at,
        )
    )
    return referral_stats(rows.all())
