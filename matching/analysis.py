"""One listing in, everything the machine can say about it out: the single analysis path.

Intake, `POST /api/v1/analyze` and `wildflag analyze` all call `analyze`, so a listing is
judged the same way whichever door it came through. Pure: the units to route to are
passed in, nothing is read or stored here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from matching.appendix import highest_appendix
from matching.jurisdiction import RULES_VERSION, Jurisdiction, Signal, infer_jurisdiction, weigh
from matching.listing import Listing
from matching.routing import Route, Taxonomic, UnitRule, route
from matching.species import Overruled, SpeciesMatch, SpeciesMatcher, default_matcher
from matching.text import normalise
from matching.urls import CanonicalURL, canonical_url

#: Queue order: Appendix I is critical, II high, III normal; a listing with no confident
#: taxon (or none at all) goes to review by a person. The rank sorts the unit's queue.
PRIORITIES: dict[str | None, tuple[str, int]] = {
    "I": ("critical", 1),
    "II": ("high", 2),
    "III": ("normal", 3),
    None: ("review", 4),
}

#: A listing is flagged when one mention is at least this sure: a trade term on its own
#: ("tusk", 0.5) is enough to put a listing before a person; a code word alone ("white
#: gold", 0.2–0.4) is not, as most of its uses are innocent.
FLAG_CONFIDENCE = 0.5
#: Only mentions at least this sure set the priority; a flagged listing whose mentions are
#: all below it is reviewed before it is ranked by Appendix. A trade term read through one
#: disguise or one typo (0.7 × 0.85 = 0.595: "1v0ry", "ivoir") still sets it — hiding a
#: word is no reason to rank an offer lower — while a bare "tusk" or "shark fin" (0.5),
#: which name listed and unlisted animals alike, goes to review.
PRIORITY_CONFIDENCE = 0.55


def priority_of(appendix: str | None) -> tuple[str, int]:
    """The priority label and rank (1 = most urgent) for a case's highest appendix."""
    known = PRIORITIES.get(appendix)  # already a highest appendix, as `analyze` passes it
    if known is not None:
        return known
    top = highest_appendix([appendix]) if appendix else None
    return PRIORITIES[top]


@dataclass(frozen=True, slots=True)
class Analysis:
    """What one listing appears to offer, where, and which units should see it."""

    species: tuple[SpeciesMatch, ...]
    overruled: tuple[Overruled, ...]  # mentions the context showed are no specimen, and why
    appendix: str | None
    priority: str
    priority_rank: int
    url: CanonicalURL | None
    jurisdiction: Jurisdiction
    routes: tuple[Route, ...]
    lexicon_version: str
    rules_version: str

    @property
    def flagged(self) -> bool:
        """Plausibly offers a specimen of a CITES-listed taxon."""
        return any(m.confidence >= FLAG_CONFIDENCE for m in self.species)

    @property
    def units(self) -> list[str]:
        return [r.unit for r in self.routes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "priority": self.priority,
            "species": [m.to_dict() for m in self.species],
            "overruled": [o.to_dict() for o in self.overruled],
            "country": self.jurisdiction.country,
            "country_reasons": [s.to_dict() for s in self.jurisdiction.signals],
            "units": self.units,
            "url_key": self.url.key if self.url else None,
            "lexicon_version": self.lexicon_version,
            "rules_version": self.rules_version,
        }


def analyze(
    listing: Listing,
    units: Sequence[UnitRule],
    matcher: SpeciesMatcher | None = None,
) -> Analysis:
    """Analyse `listing`. Raises `matching.urls.InvalidURL` for an unusable URL."""
    matcher = matcher or default_matcher()
    url = canonical_url(listing.url) if listing.url else None
    text = listing.full_text
    folded = normalise(text)  # once, for the species and the places
    assessment = matcher.assess(text, folded)
    species = tuple(assessment.matches)
    sure = routing_species(species)  # the priority's bar is the taxa filters' bar
    appendix = highest_appendix(m.specimen_appendix for m in most_specific(sure)) if sure else None
    priority, rank = priority_of(appendix)
    jurisdiction = infer_jurisdiction(listing, folded)
    return Analysis(
        species=species,
        overruled=tuple(assessment.overruled),
        appendix=appendix,
        priority=priority,
        priority_rank=rank,
        url=url,
        jurisdiction=jurisdiction,
        routes=_routes(jurisdiction, appendix, units, listing.reporter_country, sure),
        lexicon_version=matcher.version,
        rules_version=RULES_VERSION,
    )


class Ranked(Protocol):
    """What `most_specific` reads of a match: a species match, or its stored row."""

    @property
    def taxon(self) -> str: ...
    @property
    def family(self) -> str | None: ...
    @property
    def order(self) -> str | None: ...
    @property
    def class_(self) -> str | None: ...


M = TypeVar("M", bound=Ranked)


def most_specific(matches: Sequence[M]) -> list[M]:
    """The matches that no other match names more precisely.

    "Royal python skins" names *Python regius* (Appendix II) and, through the product term
    "python skins", the family Pythonidae (written "I/II", because one subspecies is in
    Appendix I). The family adds nothing the species did not say, and its split listing
    would rank an Appendix II offer as Appendix I; so a higher taxon counts only when no
    match in the listing falls under it. A higher taxon named alone keeps its own listing.
    """

    # A match is covered when another match (of another taxon) names it as its family,
    # order or class, or as the first words of its own name ("Python" of "Python regius").
    # Collected once, the test is one set lookup per match, not one comparison per pair: a
    # page naming hundreds of taxa costs no more than the sum of its matches.
    covered: set[str | None] = set()
    for inner in matches:
        taxon = inner.taxon
        covered.update(name for name in (inner.family, inner.order, inner.class_) if name != taxon)
        at = taxon.find(" ")
        while at >= 0:
            covered.add(taxon[:at])
            at = taxon.find(" ", at + 1)
    return [m for m in matches if m.taxon not in covered]


def joined_to_case(
    analysis: Analysis,
    case_signals: Sequence[Signal],
    case_appendix: str | None,
    units: Sequence[UnitRule],
    reporter_country: str = "",
    case_species: Sequence[Taxonomic] = (),
) -> Analysis:
    """`analysis` of a report that joins an existing case, judged with the whole case.

    The case's country is weighed from the signals of all its reports, so one report seen
    through another country's site of a global platform does not move a case the seller's
    own words placed; and the case's highest appendix and all its species (`case_species`:
    those of its earlier reports that were sure enough to set a priority, see
    `routing_species`) decide which unit filters apply. The reporter's country is this
    report's. The report's own species and priority are unchanged.
    """
    jurisdiction = weigh([*case_signals, *analysis.jurisdiction.signals])
    appendix = highest_appendix(a for a in (case_appendix, analysis.appendix) if a)
    species = [*case_species, *routing_species(analysis.species)]
    routes = _routes(jurisdiction, appendix, units, reporter_country, species)
    return replace(analysis, jurisdiction=jurisdiction, routes=routes)


def routing_species(species: Sequence[SpeciesMatch]) -> list[SpeciesMatch]:
    """The matches a unit's taxa filter is judged on: those sure enough to set the priority.

    The same bar as the priority's, so a case in review (no sure species) is one a
    taxa-filtered unit turns away, and a bare "tusk" does not send a case to a unit that
    takes only elephants.
    """
    return [m for m in species if m.confidence >= PRIORITY_CONFIDENCE]


def _routes(
    jurisdiction: Jurisdiction,
    appendix: str | None,
    units: Sequence[UnitRule],
    reporter_country: str,
    species: Sequence[Taxonomic],
) -> tuple[Route, ...]:
    behind = {s.signal for s in jurisdiction.signals if s.country == jurisdiction.country}
    return tuple(
        route(
            jurisdiction.country,
            appendix or "review",
            units,
            reporter_country=reporter_country or None,
            signals=sorted(behind),
            species=species,
        )
    )
