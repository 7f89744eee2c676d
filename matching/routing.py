"""Which units get a case: routing rules as data and one pure function with a fallback.

A case goes to every unit whose countries include the listing's country and whose filters
admit it: the appendix filter (the case's highest appendix) and the taxa filter (any of the
case's species at any rank). When none does (no country, a country no unit covers, or
filters that turn it away), it goes to every coordinating unit; with no coordinating unit
either, `route` raises `NoRoute`. Besides, a unit that opted in to `reporter_cases` gets a
second copy of the cases reported by someone in its countries, filters permitting. Every
route carries the reason it was chosen, and a fallback route says which filter turned the
country's unit away.

This module must never drop a case silently, never guess a country, and never read the
database: callers pass the unit rules in (see `rules_from_rows` for the seed file's shape).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from matching.appendix import RANKS, highest_appendix

__all__ = [
    "APPENDICES",
    "NoRoute",
    "Route",
    "Taxon",
    "Taxonomic",
    "UnitRule",
    "kingdom_of",
    "parse_taxa",
    "route",
    "rules_from_rows",
    "taxon_names",
]

# What an appendix filter may name: the case's highest CITES Appendix, or "review" for a
# case no species matched.
APPENDICES = ("I", "II", "III", "review")

#: Ranks whose scientific name starts with its genus ("Dalbergia nigra"), and with its
#: species below that ("Panthera tigris altaica"), as the CITES checklist writes RankName.
_BELOW_GENUS = frozenset({"SPECIES", "SUBSPECIES", "VARIETY"})
#: Family names the botanical code (ICN Art. 18.5) keeps beside their "-aceae" forms; CITES
#: writes Leguminosae and Palmae.
_CONSERVED_PLANT_FAMILIES = frozenset(
    {
        "compositae",
        "cruciferae",
        "gramineae",
        "guttiferae",
        "labiatae",
        "leguminosae",
        "palmae",
        "umbelliferae",
    }
)


class Taxonomic(Protocol):
    """What routing reads of a species: `matching.species.SpeciesMatch` is one, `Taxon` too."""

    @property
    def taxon(self) -> str: ...
    @property
    def rank(self) -> str: ...
    @property
    def family(self) -> str | None: ...
    @property
    def order(self) -> str | None: ...
    @property
    def class_(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Taxon:
    """A taxon with the names of the ranks above it, for callers without a `SpeciesMatch`
    (stored matches, tests)."""

    taxon: str
    rank: str = ""
    family: str | None = None
    order: str | None = None
    class_: str | None = None


def kingdom_of(species: Taxonomic) -> str | None:
    """ "Plantae" or "Animalia" as the codes of nomenclature fix it, or None when they don't.

    The species data carry no kingdom, yet a flora authority wants to say "Plantae". The
    endings are rules, not guesses: a zoological family ends in "-idae" (ICZN Art. 29.2), a
    botanical family in "-aceae" or is one of eight conserved names (ICN Art. 18), a
    botanical order in "-ales" (Art. 17.1) and a botanical class in "-opsida" (Art. 16.3).
    """
    family = (species.family or (species.taxon if species.rank == "FAMILY" else "")).lower()
    if family.endswith("idae"):
        return "Animalia"
    if family.endswith("aceae") or family in _CONSERVED_PLANT_FAMILIES:
        return "Plantae"
    if (species.order or "").lower().endswith("ales"):
        return "Plantae"
    if (species.class_ or "").lower().endswith("opsida"):
        return "Plantae"
    return None


def taxon_names(species: Taxonomic) -> frozenset[str]:
    """Every name the species goes by at some rank, lower-cased: itself, its species and
    genus (read from the binomial), family, order, class and kingdom."""
    names = [species.taxon, species.family, species.order, species.class_, kingdom_of(species)]
    words = species.taxon.split()
    if species.rank.upper() in _BELOW_GENUS and len(words) >= 2:
        names.append(words[0])  # the genus
        if len(words) >= 3:
            names.append(" ".join(words[:2]))  # the species of a subspecies or variety
    return frozenset(name.strip().lower() for name in names if name and name.strip())


@dataclass(frozen=True, slots=True)
class UnitRule:
    """One unit's routing rule.

    `appendices` empty means every case; otherwise only cases whose highest appendix
    ("I", "II", "III") or "review" is listed.

    `taxa` empty means every case; otherwise only cases one of whose species falls under
    one of these names at some rank (species, genus, family, order, class, or the kingdoms
    Plantae / Animalia), compared without case: a flora authority lists "Plantae", a marine
    unit "Elasmobranchii". A case with no species is not admitted: nothing says it is theirs.

    A coordinating unit's filters narrow what it gets as a covering or reporter's unit,
    never the fallback: the catch-all takes every case no one else took, as before.

    `reporter_cases` is an opt-in, not a default, because the copy goes to a unit whose
    country the listing is not in: it suits a unit that follows up with its own nationals
    (a UK reporter flagging a listing in Thailand) and would flood one that does not.
    """

    code: str
    countries: frozenset[str]
    coordinating: bool = False
    appendices: frozenset[str] = frozenset()
    taxa: frozenset[str] = frozenset()
    reporter_cases: bool = False

    def admits(self, appendix: str) -> bool:
        return not self.appendices or appendix in self.appendices

    def admits_species(self, names: frozenset[str]) -> bool:
        """Whether the taxa filter admits a case whose species go by `names` (lower-cased)."""
        return not self.taxa or any(entry.lower() in names for entry in self.taxa)

    def refusal(self, appendix: str, names: frozenset[str], species: Sequence[str]) -> str | None:
        """Why this unit's filters turn the case away ("does not take II cases"), or None."""
        if not self.admits(appendix):
            return f"does not take {appendix} cases"
        if not self.admits_species(names):
            only = ", ".join(sorted(self.taxa, key=str.lower))
            if not species:
                return f"takes only {only} and no species was recognised"
            return f"takes only {only}, not {', '.join(species)}"
        return None


@dataclass(frozen=True, slots=True)
class Route:
    """A destination unit and why the case goes there."""

    unit: str
    reason: str


class NoRoute(LookupError):
    """No unit can take the case and no coordinating unit exists to catch it."""


#: All that `route` reads of its arguments besides the units: country, appendix, reporter's
#: country, signals, and each species reduced to the names `taxon_names` and the refusal
#: reasons read (taxon, rank, family, order, class). A plain tuple: it is built per call.
_RouteKey = tuple[
    str | None,
    str | None,
    str | None,
    tuple[str, ...],
    tuple[tuple[str, str, str | None, str | None, str | None], ...],
]

#: Answers remembered per rule list. Routing is a pure function of the key and the rules,
#: and a listing stream asks the same few questions (a country, an appendix, a handful of
#: taxa) over and over; the bound only caps memory in a long-running service.
_ROUTES_KEPT = 4096


def route(
    country: str | None,
    priority_appendix: str | None,
    units: Sequence[UnitRule],
    *,
    reporter_country: str | None = None,
    signals: Sequence[str] = (),
    species: Iterable[Taxonomic] = (),
) -> list[Route]:
    """The units that get a case about a listing in `country` with `priority_appendix`.

    `priority_appendix` is the case's highest appendix ("I", "II", "III"; a CITES listing
    such as "I/II" counts as its highest) or None / "review" when no species matched.
    `signals` optionally names the jurisdiction signals behind `country`, for the reason.
    `species` are the case's taxa, for the units' taxa filters; none means a taxa-filtered
    unit cannot know the case is theirs and turns it away.
    `reporter_country` (ISO-2, as the reporter declared it) adds a second destination: each
    unit that opted in to `reporter_cases` and covers that country, its filters permitting,
    after the listing's own routes (or the coordinating fallback, which it never replaces).

    Routes come in the order of `units`, one per unit code, reporter-country routes last.
    Raises `NoRoute` when nobody, not even a coordinating unit, can take the case about the
    listing (a reporter's unit gets a copy; it never owns the case); `ValueError` for an
    unknown appendix. Answers are remembered with the rule list's index (`_unit_index`),
    keyed on all that is read of the other arguments (`_RouteKey`); errors are not.
    """
    index = _unit_index(units)
    key: _RouteKey = (
        country,
        priority_appendix,
        reporter_country,
        tuple(signals),
        tuple((s.taxon, s.rank, s.family, s.order, s.class_) for s in species) if species else (),
    )
    found = index.routes.get(key)
    if found is None:
        found = _route(key, index)  # raises before anything is remembered
        if len(index.routes) >= _ROUTES_KEPT:
            index.routes.clear()
        index.routes[key] = found
    return list(found)


def _route(key: _RouteKey, index: _UnitIndex) -> tuple[Route, ...]:
    """`route` worked out from `key` alone (species as `Taxon`), so that the answer cannot
    depend on anything the key leaves out."""
    country, priority_appendix, reporter_country, signals, taxon_keys = key
    appendix = _highest_appendix(priority_appendix)
    country = country.strip().upper() if country else None
    species = [Taxon(*names) for names in taxon_keys]
    names = frozenset(name for s in species for name in taxon_names(s))
    taxa = list(dict.fromkeys(s.taxon for s in species))
    routes: list[Route] = []
    seen: set[str] = set()

    def add(unit: UnitRule, reason: str) -> None:
        if unit.code not in seen:
            seen.add(unit.code)
            routes.append(Route(unit.code, reason))

    def admitted(unit: UnitRule) -> bool:
        return unit.admits(appendix) and unit.admits_species(names)

    why = ""
    if country:
        covering = index.by_country.get(country, ())
        because = f" ({', '.join(dict.fromkeys(signals))})" if signals else ""
        for unit in covering:
            if admitted(unit):
                add(unit, f"listing country {country}{because}")
        if covering and not routes:
            # One clause per refusal, the units that share it named together.
            refusals: dict[str, list[str]] = {}
            for unit in covering:
                refusal = unit.refusal(appendix, names, taxa)
                assert refusal, "a unit that admits the case has a route"
                refusals.setdefault(refusal, []).append(unit.code)
            why = "; ".join(
                f"unit {', '.join(dict.fromkeys(codes))} for listing country {country} {refusal}"
                for refusal, codes in refusals.items()
            )
        elif not covering:
            why = f"no unit covers listing country {country}"
    else:
        why = "listing country unknown"

    if why:
        for unit in index.coordinating:
            add(unit, f"coordinating unit: {why}")
        if not routes:
            raise NoRoute(f"{why}, and there is no coordinating unit")

    reporter = reporter_country.strip().upper() if reporter_country else None
    if reporter:
        for unit in index.reporting:
            if reporter in unit.countries and admitted(unit):
                add(unit, f"reporter's country {reporter}")
    return tuple(routes)


@dataclass(frozen=True, slots=True)
class _UnitIndex:
    """The units of one rule list by what `route` looks for, each group in list order."""

    units: tuple[UnitRule, ...]  # the list it was made from, to tell when that changed
    by_country: Mapping[str, tuple[UnitRule, ...]]
    coordinating: tuple[UnitRule, ...]
    reporting: tuple[UnitRule, ...]  # those that opted in to `reporter_cases`
    #: `route`'s answers for these rules (see `_ROUTES_KEPT`): they go with the index, so a
    #: changed rule list, which gets a new index, never sees an answer for the old one.
    routes: dict[_RouteKey, tuple[Route, ...]] = field(default_factory=dict, compare=False)


_UNIT_INDEXES: dict[int, _UnitIndex] = {}
_UNIT_INDEXES_KEPT = 16  # rule lists in use at once: one per process, a few in tests


def _unit_index(units: Sequence[UnitRule]) -> _UnitIndex:
    """`units` grouped by country, coordinating and reporter's units.

    Three passes over every unit (about 190 of them: one per party) for every listing were
    about a third of `route`'s time; one lookup instead. The index is remembered per rule list and
    rebuilt when the list no longer holds the same rules in the same order (a list edited
    in place, or a new list where an old one was), so it can never answer for other rules.
    """
    snapshot = tuple(units)
    index = _UNIT_INDEXES.get(id(units))
    if index is not None and index.units == snapshot:
        return index
    by_country: dict[str, list[UnitRule]] = {}
    for unit in snapshot:
        for code in unit.countries:
            by_country.setdefault(code, []).append(unit)
    index = _UnitIndex(
        units=snapshot,
        by_country={code: tuple(found) for code, found in by_country.items()},
        coordinating=tuple(unit for unit in snapshot if unit.coordinating),
        reporting=tuple(unit for unit in snapshot if unit.reporter_cases),
    )
    if len(_UNIT_INDEXES) >= _UNIT_INDEXES_KEPT:
        _UNIT_INDEXES.clear()
    _UNIT_INDEXES[id(units)] = index
    return index


def rules_from_rows(rows: Iterable[Mapping[str, str]]) -> list[UnitRule]:
    """Unit rules from rows shaped like `db/data/units.csv` (`code,name,kind,countries`).

    `countries` is space-separated ISO-2 codes; `kind` is "national" or "coordinating";
    optional columns: `appendices`, space-separated too, `taxa` (see `parse_taxa`), and
    `reporter_cases` ("true"/"yes"/"1" opt in; anything else, or no column, does not).
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
                taxa=parse_taxa(row.get("taxa")),
                reporter_cases=_truthy(row.get("reporter_cases")),
            )
        )
    return rules


def parse_taxa(value: str | Iterable[str] | None) -> frozenset[str]:
    """A taxa filter from "Orchidaceae Dalbergia", "Dalbergia nigra, Orchidaceae" or a list.

    A string is split at commas when it has any, so a binomial can be named; else at
    blanks, which is how one writes the usual family, genus or class names. A list keeps
    its names whole. Blanks inside a name are made single; empty names are dropped.
    """
    if value is None:
        return frozenset()
    if isinstance(value, str):
        parts: Iterable[str] = value.split(",") if "," in value else value.split()
    else:
        parts = value
    return frozenset(" ".join(part.split()) for part in parts if part and part.strip())


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "y")


def _highest_appendix(appendix: str | None) -> str:
    """ "I/II" → "I"; None, "" and "review" → "review"; raises ValueError for anything else."""
    if appendix is None or not appendix.strip() or appendix.strip().lower() == "review":
        return "review"
    parts = [part.strip().upper() for part in appendix.split("/")]
    if any(part not in RANKS and part != "NC" for part in parts):
        raise ValueError(f"unknown CITES appendix {appendix!r}")
    return highest_appendix([appendix]) or "review"  # "NC" alone: matched, not CITES-listed
