"""The case filters the queue, the exports and the trends share: parsed from a query string
once, applied to any query over cases, and written back into links.

Every filter narrows; none widens what a person may see (`visible_cases` applies scope
first). Unknown or malformed values are refused with a message rather than ignored, so a
bookmarked filter never silently shows everything.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from multidict import MultiMapping
from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from db.cases import OPEN_STATES
from db.models import Analysis, Case, CaseUnit, Listing, Report, SpeciesMatch
from extension_backend.auth import GLOBAL_ROLES, Principal
from extension_backend.dashboard.web import PageError

STATUSES = (*OPEN_STATES, "closed", "open")  # "open": any of OPEN_STATES
PRIORITIES = ("critical", "high", "normal", "review")
CHANNELS = ("api", "extension", "bot")
MAX_SEARCH = 200


@dataclass(frozen=True, slots=True)
class CaseFilters:
    """What a person asked to see. Empty strings mean "any"."""

    status: str = ""
    priority: str = ""
    # A taxon at any rank: species, genus, family, order or class ("Manidae", "Aves").
    taxon: str = ""
    platform: str = ""
    country: str = ""
    channel: str = ""
    unit: str = ""  # for coordinators and admins: one unit's cases
    # "me", "none", or an account id.
    assigned: str = ""
    since: date | None = None  # created on or after
    until: date | None = None  # created on or before
    q: str = ""  # words in a report's title, text or URL, or a reference, or "#<case id>"

    @classmethod
    def from_query(cls, query: MultiMapping[str]) -> CaseFilters:
        """The filters in a query string; PageError(400) names a value that makes no sense."""
        values = {f.name: str(query.get(f.name, "")).strip() for f in fields(cls)}
        if values["status"] and values["status"] not in STATUSES:
            raise PageError(400, f"Unknown status {values['status']!r}.")
        if values["priority"] and values["priority"] not in PRIORITIES:
            raise PageError(400, f"Unknown priority {values['priority']!r}.")
        if values["channel"] and values["channel"] not in CHANNELS:
            raise PageError(400, f"Unknown channel {values['channel']!r}.")
        assigned = values["assigned"]
        if assigned and assigned not in ("me", "none") and not assigned.isdigit():
            raise PageError(400, "Assigned must be 'me', 'none' or an account number.")
        if len(values["q"]) > MAX_SEARCH:
            raise PageError(400, f"Search for at most {MAX_SEARCH} characters.")
        country = values["country"].upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise PageError(400, "Country is a two-letter ISO code, e.g. GB.")
        parsed: dict[str, Any] = {**values, "country": country, "unit": values["unit"].upper()}
        for name in ("since", "until"):
            try:
                parsed[name] = date.fromisoformat(values[name]) if values[name] else None
            except ValueError:
                raise PageError(400, f"{name.capitalize()} is a date, e.g. 2026-11-28.") from None
        return cls(**parsed)

    def query_string(self, **changes: Any) -> str:
        """These filters (with `changes`) as a query string, for links and downloads."""
        pairs = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        return urlencode({k: str(v) for k, v in pairs.items() if v not in ("", None)})

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) not in ("", None) for f in fields(self))

    def apply(self, query: SelectOfScalar[Any], principal: Principal) -> SelectOfScalar[Any]:
        """`query` (over `Case`) narrowed to these filters."""
        if self.status == "open":
            query = query.where(col(Case.status).in_(OPEN_STATES))
        elif self.status:
            query = query.where(Case.status == self.status)
        if self.priority:
            query = query.where(Case.priority == self.priority)
        if self.country:
            query = query.where(Case.country == self.country)
        if self.unit:
            units = select(CaseUnit.case_id).where(CaseUnit.unit_code == self.unit)
            query = query.where(col(Case.id).in_(units))
        if self.assigned == "me":
            query = query.where(Case.assigned_account_id == principal.account_id)
        elif self.assigned == "none":
            query = query.where(col(Case.assigned_account_id).is_(None))
        elif self.assigned:
            query = query.where(Case.assigned_account_id == int(self.assigned))
        if self.since:
            query = query.where(col(Case.created_at) >= start_of(self.since))
        if self.until:
            query = query.where(col(Case.created_at) < start_of(self.until + timedelta(days=1)))
        if self.platform:
            listed = select(Listing.case_id).where(Listing.platform == self.platform)
            query = query.where(col(Case.id).in_(listed))
        if self.channel:
            sent = select(Report.case_id).where(Report.channel == self.channel)
            query = query.where(col(Case.id).in_(sent))
        if self.taxon:
            query = query.where(col(Case.id).in_(_cases_with_taxon(self.taxon)))
        if self.q:
            query = query.where(_search(self.q))
        return query


def visible_cases(principal: Principal) -> SelectOfScalar[Case]:
    """Every case `principal` may see (not merged), as a query to filter and order further.

    Officers, unit admins and observers see the cases routed or shared to their unit;
    coordinators and admins see every unit's. Merged cases are pointers, not work.
    """
    query = select(Case).where(col(Case.merged_into_id).is_(None))
    if principal.role not in GLOBAL_ROLES:
        shared = select(CaseUnit.case_id).where(CaseUnit.unit_code == principal.unit_code)
        query = query.where(col(Case.id).in_(shared))
    return query


def start_of(day: date) -> datetime:
    """The first instant (UTC) of `day`: where a date filter's range begins."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _cases_with_taxon(name: str) -> Any:
    """Cases with a report whose analysis recognised a taxon under `name` at any rank."""
    wanted = name.strip()
    ranks = or_(
        col(SpeciesMatch.taxon) == wanted,
        col(SpeciesMatch.taxon).startswith(wanted + " "),  # a genus names its species
        col(SpeciesMatch.family) == wanted,
        col(SpeciesMatch.order_name) == wanted,
        col(SpeciesMatch.class_name) == wanted,
    )
    return (
        select(Report.case_id)
        .join(Analysis, col(Analysis.report_id) == Report.id)
        .join(SpeciesMatch, col(SpeciesMatch.analysis_id) == Analysis.id)
        .where(ranks)
    )


def _search(text: str) -> Any:
    """Words in a report's title, text, URL or seller, a report reference, or `#<case id>`."""
    if text.startswith("#") and text[1:].isdigit():
        return col(Case.id) == int(text[1:])
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    matching = select(Report.case_id).where(
        or_(
            col(Report.title).ilike(pattern, escape="\\"),
            col(Report.text).ilike(pattern, escape="\\"),
            col(Report.url).ilike(pattern, escape="\\"),
            col(Report.seller).ilike(pattern, escape="\\"),
            col(Report.reference) == text.upper(),
        )
    )
    return or_(col(Case.id).in_(matching), col(Case.title).ilike(pattern, escape="\\"))
