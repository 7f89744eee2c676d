"""Which units get a case: routing rules as data and one pure function with a fallback.

A case goes to every unit whose countries include the listing's country and whose appendix
filter admits the case's priority; when none does (no country, a country no unit covers, or
a filter that turns it away), it goes to every coordinating unit; with no coordinating unit
either, `route` raises `NoRoute`. Every route carries the reason it was chosen.

This module must never drop a case silently, never guess a country, and never read the
database: callers pass the unit rules in (see `rules_from_rows` for the seed file's shape).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from matching.appendix import RANKS, highest_appendix

__all__ = ["APPENDICES", "NoRoute", "Route", "UnitRule", "route", "rules_from_rows"]

# What an appendix filter may name: the case's highest CITES Appendix, or "review" for a
# case no species matched.
APPENDICES = ("I", "II", "III", "review")


@dataclass(frozen=True, slots=True)
class UnitRule:
    """One unit's routing rule.

    `appendices` empty means every case; otherwise only cases whose highest appendix
    ("I", "II", "III") or "review" is listed.
    """

    code: str
    countries: frozenset[str]
    coordinating: bool = False
    appendices: frozenset[str] = frozenset()

    def admits(self, appendix: str) -> bool:
        return not self.appendices or appendix in self.appendices


@dataclass(frozen=True, slots=True)
class Route:
    """A destination unit and why the case goes there."""

    unit: str
    reason: str


class NoRoute(LookupError):
    """No unit can take the case and no coordinating unit exists to catch it."""


def route(
    country: str | None,
    priority_appendix: str | None,
    units: Sequence[UnitRule],
    *,
    reporter_country: str | None = None,
    signals: Sequence[str] = (),
) -> list[Route]:
    """The units that get a case about a listing in `country` with `priority_appendix`.

    `priority_appendix` is the case's highest appendix ("I", "II", "III"; a CITES listing
    such as "I/II" counts as its highest) or None / "review" when no species matched.
    `signals` optionally names the jurisdiction signals behind `country`, for the reason.
    `reporter_country` is accepted for a later second destination (the reporter's own
    unit, when that unit asks for it) and is not used yet.

    Routes come in the order of `units`, one per unit code. Raises `NoRoute` when nobody,
    not even a coordinating unit, can take the case; `ValueError` for an unknown appendix.
    """
    appendix = _highest_appendix(priority_appendix)
    country = country.strip().upper() if country else None
    routes: list[Route] = []
    seen: set[str] = set()

    def add(unit: UnitRule, reason: str) -> None:
        if unit.code not in seen:
            seen.add(unit.code)
            routes.append(Route(unit.code, reason))

    why = ""
    if country:
        covering = [unit for unit in units if country in unit.countries]
        because = f" ({', '.join(dict.fromkeys(signals))})" if signals else ""
        for unit in covering:
            if unit.admits(appendix):
                add(unit, f"listing country {country}{because}")
        if routes:
            return routes
        if covering:
            codes = ", ".join(dict.fromkeys(unit.code for unit in covering))
            why = f"unit {codes} for listing country {country} does not take {appendix} cases"
        else:
            why = f"no unit covers listing country {country}"
    else:
        why = "listing country unknown"

    for unit in units:
        if unit.coordinating:
            add(unit, f"coordinating unit: {why}")
    if not routes:
        raise NoRoute(f"{why}, and there is no coordinating unit")
    return routes


def rules_from_rows(rows: Iterable[Mapping[str, str]]) -> list[UnitRule]:
    """Unit rules from rows shaped like `db/data/units.csv` (`code,name,kind,countries`).

    `countries` is space-separated ISO-2 codes; `kind` is "national" or "coordinating";
    an optional `appendices` column is space-separated too.
    """
    rules = []
    for row in rows:
        kind = (row.get("kind") or "").strip()
        if kind not in ("national", "coordinating"):
            raise ValueError(f"unit {row.get('code')!r}: unknown kind {kind!r}")
        appendices = frozenset((row.get("appendices") or "").split())
        unknown = appendices - set(APPENDICES)
        if unknown:
            raise ValueError(f"unit {row.get('code')!r}: unknown appendices {sorted(unknown)}")
        rules.append(
            UnitRule(
                code=row["code"].strip(),
                countries=frozenset(row.get("countries", "").upper().split()),
                coordinating=kind == "coordinating",
                appendices=appendices,
            )
        )
    return rules


def _highest_appendix(appendix: str | None) -> str:
    """ "I/II" → "I"; None, "" and "review" → "review"; raises ValueError for anything else."""
    if appendix is None or not appendix.strip() or appendix.strip().lower() == "review":
        return "review"
    parts = [part.strip().upper() for part in appendix.split("/")]
    if any(part not in RANKS and part != "NC" for part in parts):
        raise ValueError(f"unknown CITES appendix {appendix!r}")
    return highest_appendix([appendix]) or "review"  # "NC" alone: matched, not CITES-listed
