"""The CITES checklist export and multilingual common names, read into lexicon form.

Pure: rows in (already read from CSV by the caller), lexicon-shaped dicts out. Three steps:

1. `parse_checklist` turns the rows of a Species+ / checklist.cites.org "Index of CITES
   Species" export into taxa entries shaped like those of `matching/data/lexicon.json`:
   `taxon` (FullName), `rank`, `family`, `order`, `class`, `appendix` (CurrentListing as
   written, "I/NC" included), `annotation` (the "#" symbol), `scientific` (the name and, for
   species and below, its synonyms without their authors), `names` (the English, Spanish and
   French columns), `source` and `taxon_id`. Taxa whose listing is only "NC" or blank are
   not listed: they become `not_listed` entries (their scientific names only), so that a
   listed taxon's synonym cannot name them ("Aloe vera", excluded from Aloe spp., is a
   synonym of Aloe succotrina in the export). `parse_common_names` reads a multilingual
   common-names file (scientific_name, rank, language, common_name), and `combine` joins it
   to the listed taxa on (scientific name, rank); names of other taxa are counted, not kept.
2. `merge` lays the imported taxa under the curated lexicon. The curated lexicon wins on
   names, trade terms and code words and keeps its exclusions (`not_listed`) and negative
   contexts; the import wins on listings (appendix, annotation) and on which taxon a
   scientific name belongs to (a species the curated lexicon lists under its genus goes to
   the imported species), being the operator's authoritative export.
3. On the way, the precision guard below keeps imported terms that would flag ordinary
   listings out of the matcher. Every rule is counted in `MergeResult.counts` (as
   `rejected_<rule>`), with a few examples of each in `MergeResult.examples`.

Precision guard. The 2017 export brings 38,000 taxa and, with the multilingual file, 50,000
names in 100 languages; a short or common one ("Boa", "Puma", "Hobby", "Tortilla", "Red
kite") would flag listings of cars, clothes and food. The rules were set by running the full
import over the plain listings of `tests/data/non_wildlife_listings.txt` (379, in 19
languages; `benchmarks/species_speed.py` prints the count, a test keeps it at zero) and by
reading the names that survive them. An imported term reaches the matcher only if it passes:

Scientific names
- S1 Binomials and trinomials (species, subspecies, varieties and their synonyms) always,
  unless they name a not-listed taxon of the export or the curated lexicon.
- S2 Names of families, orders, classes and subfamilies (Latin "-idae", "-aceae", "-formes")
  always, except those in `COMMON_WORDS` ("Primates").
- S3 A genus name alone only with at least `MIN_GENUS_LETTERS` letters, outside
  `COMMON_WORDS` and not also a vernacular name: short genera are too often words, names or
  brands ("Ara", "Boa", "Pan", "Circus", "Python", "Quechua", "Dracula", "Vanilla"). A genus
  that fails still matches as "Genus sp" / "Genus spp", and its species by their binomials.
- Synonyms of genera and higher taxa are not imported: they are obsolete uninomials, and
  their authors (which may contain commas) cannot be told from them reliably.
Common names
- C1 Taxa in the curated lexicon keep their curated names only; imported names of them are
  dropped (the curated lexicon deliberately omits some, see its `names_omitted`). Their
  imported synonyms are added to their scientific names, under rules S1-S3.
- C2 A name that is a term of the curated lexicon (any taxon's name, trade term or code
  word, a not-listed taxon's name, a negative-context phrase) stays the curated term's.
- C3 Single-word names (one word once dashes read as spaces, as the matcher reads them):
  a. of taxa above genus ("Parrots", "Eagles", "Bears") are dropped: which group words to
     use is the curated lexicon's decision;
  b. need at least `MIN_SINGLE_WORD_LETTERS` letters;
  c. equal to a genus name are dropped (the genus rule S3 decides: "Python", "Gorilla");
  d. equal to a word of a curated negative-context phrase ("colour", "satin") are dropped;
  e. used as a word of the names of `GENERIC_WORD_TAXA` or more other taxa are group words
     ("Goshawk" in "Northern Goshawk", "Black Goshawk") and dropped, unless the name is this
     taxon's own in two or more languages and no other taxon's whole name ("Ocelot");
  f. shorter than `MIN_ONE_LANGUAGE_LETTERS` letters and given to the taxon in one language
     only are dropped: such a word is as often an ordinary word of another language
     ("Struts", "Pinche", "Tortilla", "Payung") as a name; a name in two or more languages
     is a loanword for that animal or plant ("Kinkajou", "Bonobo"), a long one a compound
     ("Blaustirnamazone");
  g. in `COMMON_WORDS` (everyday words, places and brands that pass a-f, read off the
     surviving names: "Jaguar", "Quetzal", "Flamingo", "Sauvegarde") are dropped.
- C4 Names in scripts written without spaces (Chinese, Japanese, Thai) match inside longer
  words, so they need at least `MIN_UNSPACED_CHARS` characters (熊猫 is in 熊猫牌收音机).
- C5 Multi-word names are kept unless every word is in `EVERYDAY_WORDS` or shorter than 3
  letters ("tree of life", "golf ball", "pink coral", "green mango", "mono verde") or the
  phrase is in `COMMON_WORDS` ("red kite", "palo santo", "pata de gallo").
- C7 A name given to taxa of `PLACEHOLDER_FAMILIES` or more families names none of them:
  the multilingual file gives "Nincs magyar neve" ("has no Hungarian name") to 186 taxa,
  and one listing holding it would name them all. A group phrase within one family ("art
  af kaktus", "poison frog") is kept.
- C6 Taxa listed only in part (a listing with "NC": the red fox "III/NC", ginseng "II/NC",
  the ostrich "I/NC") keep their scientific names only: their common names mostly name the
  populations CITES does not cover (red foxes, farmed ostriches, Korean ginseng).
- Names with digits, "/" or "=" are alternations or typos ("2-hoorn kameleon",
  "Zwart-/Roodkeellijster") and are skipped; a parenthesised part is removed
  ("Amethystine (Rock) Python" becomes "Amethystine Python").

This module must never read or write files, and never import the database or the service.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CHECKLIST = "checklist"
COMMON_NAMES = "common_names"

#: Columns an "Index of CITES Species" export must have (it has more; they are ignored).
CHECKLIST_COLUMNS = (
    "TaxonId",
    "Kingdom",
    "Class",
    "Order",
    "Family",
    "Genus",
    "FullName",
    "RankName",
    "CurrentListing",
    "#AnnotationSymbol",
    "SynonymsWithAuthors",
    "EnglishNames",
    "SpanishNames",
    "FrenchNames",
)
#: Columns of a multilingual common-names file.
COMMON_NAMES_COLUMNS = ("scientific_name", "rank", "language", "common_name")

#: The checklist's name columns and the language of each.
NAME_COLUMNS = {"EnglishNames": "en", "SpanishNames": "es", "FrenchNames": "fr"}
RANKS = ("CLASS", "ORDER", "FAMILY", "SUBFAMILY", "GENUS", "SPECIES", "SUBSPECIES", "VARIETY")
HIGHER_RANKS = frozenset({"CLASS", "ORDER", "FAMILY", "SUBFAMILY"})
BELOW_GENUS = frozenset({"SPECIES", "SUBSPECIES", "VARIETY"})
LISTING_PARTS = frozenset({"I", "II", "III", "NC"})
NOT_COVERED = "NC"

# Precision guard thresholds; see the module docstring for the rules and how they were set.
MIN_SINGLE_WORD_LETTERS = 6  # measured: at 5, the names "Drill" (Mandrillus leucophaeus),
#                              "Trane" and "Diana" flag "Cordless drill", "Trane air
#                              conditioning", "Diana air rifle"; at 6 "Ocelot", "Bonobo" stay
MIN_GENUS_LETTERS = 8  # measured: every genus of 7 or fewer letters checked against words,
#                        names and brands collides with something ("Quechua", "Dracula",
#                        "Calypso", "Vanilla", "Parodia", "Circus", "Python", "Aquila")
MIN_UNSPACED_CHARS = 3  # 2-character Chinese names are ordinary words (熊猫 in 熊猫牌收音机)
GENERIC_WORD_TAXA = 2  # a single word that names 2 or more other taxa names a group
PLACEHOLDER_FAMILIES = 3  # a whole name given to taxa of 3+ families names none of them:
#                           the multilingual file writes "Nincs magyar neve" ("has no
#                           Hungarian name") as the name of 186 taxa across classes
MIN_ONE_LANGUAGE_LETTERS = 10  # a single word shorter than this, given to its taxon in one
#                                language only, is as often an ordinary word of another
#                                language ("Struts", "Pinche", "Tortilla", "Payung") as a
#                                name; long ones are compounds ("Blaustirnamazone")

#: Words that name no animal or plant on their own: function words, colours, sizes, food,
#: gems and everyday objects of the main listing languages, folded. A multi-word name made
#: only of these (and words under 3 letters) is an ordinary phrase: "tree of life", "golf
#: ball", "queen of the night", "red berry", "pink coral", "green mango", "mono verde".
_EVERYDAY = """
    a an and at de del della des di do dos du e el en et for in la las le les los of on or
    the to with y und der die das van het een
    red blue green white black grey gray brown pink yellow orange purple violet gold golden
    silver rose rosy ruby coral cream olive scarlet crimson dark light bright pale fiery
    rojo roja azul verde blanco blanca negro negra gris pardo parda amarillo amarilla rosa
    dorado dorada oro plata rouge bleu bleue vert verte blanc blanche noir noire jaune brun
    brune dore doree vermelho vermelha branco branca preto preta amarelo amarela rosso
    rossa bianco bianca nero nera giallo gialla rot rote roter blau blaue grun grune weiss
    schwarz gelb grau braun rood blauw groen wit zwart geel bruin
    big small little great large giant tiny long short tall high low old new young true
    false fake royal king queen grand petit petite gros grosse grande gran chico chica
    pequeno pequena mayor menor viejo vieja piccolo grosso klein kleine gross grosse groot
    common holy beauty belle hard neat spicy santo santa saint vie vida sello sceau d'or
    flor reina noche mayo nieve palo pau legno bois moco dios
    tree wood ball golf box house home life night day star sun moon sea water fire river
    rock stone sand snow rain ice glass paper cup bowl table pipe organ lace silk wool
    velvet cotton berry apple mango cherry plum pear lemon nut coconut coco rice corn cedar
    pine palm oak tulip lily daisy kite crown comb key cigar caps back sack rip dust topaz
    pearl diamond emerald sapphire jade amber opal crystal ginseng vanilla mono monos
    arbol flor cafe cacao vino pan queso bola hilo coche casa mar agua fuego sol luna
    arbre fleur maison vie nuit jour etoile feu eau baum blume haus leben nacht tag
    """
EVERYDAY_WORDS = frozenset(_EVERYDAY.split())

#: Everyday words, names, brands and phrases that are also the name of an imported taxon and
#: pass the rules above, found by measurement (they flagged plain listings) or by reading the
#: names that survive the rules. Folded (lower case, no accents). Only Panax ginseng of
#: Russia is listed; "Musang King" is a durian; "colla di pesce" is gelatine, "pata de
#: gallo" houndstooth, "loup de mer" sea bass, "palo santo" mostly Bursera incense.
COMMON_WORDS = frozenset(
    {
        # single words: brands, products, places, names and everyday words
        "anaconda", "apollo", "beluga", "chandra", "condor", "kondor", "flamingo", "ginseng",
        "jaguar", "kaluga", "mandril", "merlin", "musang", "napoleon", "primates", "quetzal",
        "ajillo", "almendro", "baobab", "hermelin", "swamper", "algodoncillo", "almendrillo",
        "amendoeira", "amandelboom", "candelabro", "cardenalito", "cavalluccio", "chupasangre",
        "dragonfruit", "duraznillo", "espadachin", "frailecito", "ichtyocolle", "limpiacasa",
        "pellegrino", "pernambuco", "platanillo", "sauvegarde", "secretario", "vaquetilla",
        "visgelatine", "peinetillo", "liendrilla", "sanpedrillo",
        # phrases
        "red kite", "gato negro", "perro de agua", "loup de mer", "pata de gallo",
        "colla di pesce", "pesce spada", "palo santo", "pau santo", "legno santo",
        "reina de la noche", "pinho bravo",
    }
)  # fmt: skip

_AUTHOR_PARTICLES = frozenset(
    {
        "al", "and", "apud", "auct", "aff", "cf", "da", "das", "de", "del", "della", "den",
        "der", "des", "di", "do", "dos", "du", "e", "em", "emend", "et", "ex", "fil", "hort",
        "in", "ined", "la", "le", "ms", "nec", "nom", "non", "nud", "partim", "pro", "sensu",
        "sp", "spp", "ssp", "subsp", "syn", "the", "van", "var", "von", "x", "y", "zu",
    }
)  # fmt: skip
_EPITHET = r"[a-z][a-z\-]*[a-z]"
_BINOMIAL = re.compile(
    r"(?<![\w.'])([A-Z][a-z]+)\s+(?:\([A-Z][a-z]+\)\s+)?"  # genus, optional (Subgenus)
    rf"({_EPITHET})(?![\w.'])"  # species epithet, not an abbreviation
    rf"(?:\s+(var\.\s+|subsp\.\s+|ssp\.\s+)?({_EPITHET})(?![\w.']))?"  # infraspecific
)
_PARENTHESES = re.compile(r"\([^)]*\)?")
_SPACES = re.compile(r"\s+")
_READ_AS_SPACE = re.compile(r"[\-\u2010-\u2015\u2212_]+")  # dashes, as the matcher reads them
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc`\u00b4", "'"))
_UNSPACED_SCRIPTS = ("CJK", "IDEOGRAPHIC", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER")
_HIGHER_SUFFIXES = ("idae", "inae", "aceae", "oideae", "formes", "ales")


# -- parsing -----------------------------------------------------------------------------


def detect_kind(header: Sequence[str]) -> str:
    """`CHECKLIST` or `COMMON_NAMES` from a CSV header; ValueError for anything else."""
    columns = {column.strip().lstrip("\ufeff") for column in header}
    if columns.issuperset(CHECKLIST_COLUMNS):
        return CHECKLIST
    if columns.issuperset(COMMON_NAMES_COLUMNS):
        return COMMON_NAMES
    missing = [c for c in CHECKLIST_COLUMNS if c not in columns]
    raise ValueError(
        "not a CITES checklist export (missing "
        + ", ".join(missing[:4])
        + ("…" if len(missing) > 4 else "")
        + ") nor a common-names file (columns "
        + ", ".join(COMMON_NAMES_COLUMNS)
        + ")"
    )


def listed_appendix(listing: str) -> str | None:
    """CurrentListing as written ("I", "I/II", "I/NC"), or None when not listed ("NC", "").

    ValueError for a value that is not Appendices I, II, III and NC joined by "/".
    """
    parts = [part.strip().upper() for part in listing.split("/") if part.strip()]
    if not set(parts) <= LISTING_PARTS:
        raise ValueError(f"unknown listing {listing!r}")
    if all(part == NOT_COVERED for part in parts):
        return None
    return "/".join(parts)


#: How a split listing's annotation opens on the Appendix the taxon is listed in as a whole:
#: "Appendix II:Included in Appendix II, except for the species included in Appendix I".
_WHOLE_LISTING = re.compile(r"\s*Appendix (I{1,3})\s*:")


def spp_appendix(rank: str, appendix: str | None, annotation: str) -> str | None:
    """The Appendix a higher taxon with a split listing holds its members in as a whole.

    The checklist writes Psittaciformes "I/II/NC" and opens its annotation with the
    Appendix of the order's own listing ("Appendix II: Included in Appendix II, except…"),
    the species in Appendix I being listed under their own names. None for a species (its
    split is by population, and the annotation does not say which is the whole), for a
    listing that is not split, and for an annotation that does not open that way.
    """
    if appendix is None or "/" not in appendix or rank in BELOW_GENUS:
        return None
    found = _WHOLE_LISTING.match(annotation)
    if found is None or found.group(1) not in appendix.split("/"):
        return None
    return found.group(1)


def parse_synonyms(text: str) -> list[str]:
    """Binomials and trinomials in a SynonymsWithAuthors value, without their authors.

    "Ornismya abeillei Lesson & DeLattre, 1839, Trochilus abeillei (Lesson, 1839)" gives
    ["Ornismya abeillei", "Trochilus abeillei"]. Names are found by their shape (a
    capitalised genus, a lower-case epithet, optionally "var."/"subsp." and another), so
    commas inside authors ("Frost, Grant, Faivovich, …") do not split anything, and author
    particles ("Fischer in Fitzinger", "sensu Ridl.") are not read as epithets.
    """
    found: list[str] = []
    for match in _BINOMIAL.finditer(text):
        genus, epithet, marker, infra = match.groups()
        if epithet in _AUTHOR_PARTICLES:
            continue
        name = f"{genus} {epithet}"
        if infra and infra not in _AUTHOR_PARTICLES:
            name += f" {marker.strip()} {infra}" if marker else f" {infra}"
        if name not in found:
            found.append(name)
    return found


def clean_name(name: str) -> str | None:
    """A vernacular name tidied for matching, or None when it cannot be used (rule C5)."""
    if any(char.isdigit() for char in name) or "/" in name or "=" in name:
        return None
    name = _SPACES.sub(" ", _PARENTHESES.sub(" ", name)).strip(" ,;:.")
    return name or None


def split_names(value: str) -> list[str]:
    """The names in a comma-separated names value ("Hawks, Eagles"), cleaned, in order."""
    names: list[str] = []
    for raw in value.split(","):
        name = clean_name(raw)
        if name and name not in names:
            names.append(name)
    return names


@dataclass(slots=True)
class ChecklistImport:
    """Taxa of a checklist export in lexicon form, and what was counted reading it.

    `not_listed` holds the taxa the export names but does not list ("NC" or blank, such as
    Aloe vera, excluded from Aloe spp.), as lexicon `not_listed` entries: their scientific
    names cancel listed matches inside them and are never imported as another taxon's synonym.
    """

    taxa: list[dict[str, Any]]
    not_listed: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def checklist_entry(row: Mapping[str, str], source: str) -> dict[str, Any]:
    """The lexicon entry of one checklist row; its `appendix` is None for a taxon not listed.

    ValueError for a row that cannot be read (unknown rank or listing, no name).
    """
    name = _SPACES.sub(" ", (row.get("FullName") or "").strip())
    rank = (row.get("RankName") or "").strip().upper()
    if not name:
        raise ValueError("no FullName")
    if rank not in RANKS:
        raise ValueError(f"{name}: unknown rank {rank!r}")
    appendix = listed_appendix(row.get("CurrentListing") or "")
    family = _blank_to_none(row.get("Family"))
    entry: dict[str, Any] = {
        "taxon": name,
        "rank": rank,
        "family": name if rank == "FAMILY" else family,
        "order": _blank_to_none(row.get("Order")),
        "class": _blank_to_none(row.get("Class")),
        "appendix": appendix,
    }
    annotation = _blank_to_none(row.get("#AnnotationSymbol"))
    if annotation:
        entry["annotation"] = annotation
    whole = spp_appendix(rank, appendix, row.get("FullAnnotationEnglish") or "")
    if whole:
        entry["spp_appendix"] = whole
    entry["source"] = source
    taxon_id = _blank_to_none(row.get("TaxonId"))
    if taxon_id:
        entry["taxon_id"] = taxon_id
    scientific = [name]
    if rank in BELOW_GENUS:
        scientific += [s for s in parse_synonyms(row.get("SynonymsWithAuthors") or "") if s != name]
    entry["scientific"] = scientific
    names: dict[str, list[str]] = {}
    for column, language in NAME_COLUMNS.items():
        values = split_names(row.get(column) or "")
        if values:
            names[language] = values
    entry["names"] = names
    return entry


def parse_checklist(rows: Iterable[Mapping[str, str]], source: str) -> ChecklistImport:
    """The listed taxa of a checklist export's rows; `source` is e.g. "checklist:FILE"."""
    result = ChecklistImport(taxa=[])
    seen: set[str] = set()
    for row in rows:
        result.counts["rows"] += 1
        try:
            entry = checklist_entry(row, source)
        except ValueError:
            result.counts["unreadable"] += 1
            continue
        if entry["appendix"] is None:
            result.counts["not_listed"] += 1
            result.not_listed.append(
                {
                    "taxon": entry["taxon"],
                    "rank": entry["rank"],
                    "scientific": entry["scientific"],
                    "suppresses": [],
                    "source": source,
                }
            )
            continue
        if entry["taxon"] in seen:
            result.counts["duplicate"] += 1
            continue
        seen.add(entry["taxon"])
        result.taxa.append(entry)
        result.counts["taxa"] += 1
        result.counts[f"rank_{entry['rank'].lower()}"] += 1
        result.counts["synonyms"] += len(entry["scientific"]) - 1
        result.counts["names"] += sum(len(v) for v in entry["names"].values())
    return result


@dataclass(slots=True)
class CommonNamesImport:
    """Common names grouped by taxon: {"RANK|Scientific name": {language: [names]}}."""

    names: dict[str, dict[str, list[str]]]
    counts: Counter[str] = field(default_factory=Counter)


def taxon_key(scientific_name: str, rank: str) -> str:
    """The join key of a taxon between the checklist and the common-names file."""
    return f"{rank.strip().upper()}|{_SPACES.sub(' ', scientific_name.strip())}"


def parse_common_names(rows: Iterable[Mapping[str, str]]) -> CommonNamesImport:
    """All names of a common-names file, grouped by taxon and language, cleaned (rule C5)."""
    result = CommonNamesImport(names={})
    for row in rows:
        result.counts["rows"] += 1
        scientific = (row.get("scientific_name") or "").strip()
        language = (row.get("language") or "").strip()
        values = split_names(row.get("common_name") or "")
        if not scientific or not language or not values:
            result.counts["unreadable"] += 1
            continue
        by_language = result.names.setdefault(taxon_key(scientific, row.get("rank") or ""), {})
        kept = by_language.setdefault(language, [])
        for value in values:
            if value not in kept:
                kept.append(value)
                result.counts["names"] += 1
    result.counts["taxa"] = len(result.names)
    return result


def combine(
    taxa: Sequence[Mapping[str, Any]],
    common_names: Mapping[str, Mapping[str, Sequence[str]]] | None,
    version: str,
    not_listed: Sequence[Mapping[str, Any]] = (),
) -> tuple[dict[str, Any], Counter[str]]:
    """The imported lexicon: checklist taxa with the common names of the same taxa joined.

    Names are joined on (scientific name, rank) to listed taxa only; `not_listed` entries
    are carried as they are.
    Returns the lexicon and counts: `names_joined` (names added to a checklist taxon),
    `names_skipped` and `taxa_skipped` (names of taxa the checklist does not list).
    """
    counts: Counter[str] = Counter()
    out: list[dict[str, Any]] = []
    for entry in taxa:
        copy = dict(entry)
        copy["names"] = {lang: list(values) for lang, values in entry.get("names", {}).items()}
        out.append(copy)
    index = {taxon_key(t["taxon"], t["rank"]): t for t in out}
    for key, by_language in (common_names or {}).items():
        target = index.get(key)
        if target is None:
            counts["taxa_skipped"] += 1
            counts["names_skipped"] += sum(len(v) for v in by_language.values())
            continue
        counts["taxa_joined"] += 1
        names = target["names"]
        for language, values in by_language.items():
            kept = names.setdefault(language, [])
            known = {_key(value) for value in kept}
            for value in values:
                if _key(value) not in known:
                    kept.append(value)
                    known.add(_key(value))
                    counts["names_joined"] += 1
    return {"version": version, "taxa": out, "not_listed": [dict(e) for e in not_listed]}, counts


# -- the precision guard and the merge -----------------------------------------------------


def _fold(term: str) -> str:
    """`matching.text.fold` of `term`, a string at a time rather than a character at a time.

    Same result on every name and synonym of the 2017 export (120,167 terms), 18 times
    faster; the guard folds every imported term, so this is most of the merge's time.
    """
    if term.isascii():
        return term.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", term).casefold())
    kept = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", kept)


def _key(term: str) -> str:
    """A term as the matcher compares it: folded, dashes as spaces, one space per run."""
    folded = _fold(term).translate(_APOSTROPHES)
    return _SPACES.sub(" ", _READ_AS_SPACE.sub(" ", folded)).strip()


def _unspaced(char: str) -> bool:
    return unicodedata.name(char, "").startswith(_UNSPACED_SCRIPTS)


def _letters(key: str) -> int:
    return sum(1 for char in key if char.isalpha())


def _map_terms(value: Any) -> Iterable[str]:
    """The terms of a {language: [term | {term, …}]} map."""
    for items in (value or {}).values():
        for item in items:
            yield item if isinstance(item, str) else item["term"]


def _curated_terms(curated: Mapping[str, Any]) -> set[str]:
    """Keys of every term the curated lexicon holds, of any kind and role."""
    terms: set[str] = set()
    for entry in curated.get("taxa", []):
        terms.update(_key(name) for name in entry.get("scientific", []))
        for kind in ("names", "trade_terms", "code_words"):
            terms.update(_key(term) for term in _map_terms(entry.get(kind)))
    for entry in curated.get("not_listed", []):
        terms.update(_key(name) for name in entry.get("scientific", []))
        terms.update(_key(term) for term in _map_terms(entry.get("names")))
    for group in curated.get("negative_contexts", []):
        terms.update(_key(term) for term in _map_terms(group.get("phrases")))
    return terms


def _negative_words(curated: Mapping[str, Any]) -> set[str]:
    """Every word of the curated negative-context phrases ("ivory", "dress", "cream")."""
    return {
        word
        for group in curated.get("negative_contexts", [])
        for term in _map_terms(group.get("phrases"))
        for word in _key(term).split(" ")
    }


def fit_appendix(appendix: str, accepted: Collection[str] | None) -> str | None:
    """`appendix` as a matcher that only takes `accepted` values can hold it.

    A split listing with a not-covered part ("I/NC") becomes its listed parts ("I") when the
    matcher does not take "NC"; None when nothing acceptable is left.
    """
    if accepted is None or appendix in accepted:
        return appendix
    listed = "/".join(part for part in appendix.split("/") if part != NOT_COVERED)
    return listed if listed in accepted else None


@dataclass(slots=True)
class MergeResult:
    """The lexicon to build the matcher from, what the guard did, and a few examples."""

    lexicon: dict[str, Any]
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)


class _Guard:
    """The precision guard's decisions for one curated + imported pair (see the docstring)."""

    def __init__(
        self,
        curated: Mapping[str, Any],
        imported: Sequence[Mapping[str, Any]],
        excluded: Collection[str],
    ) -> None:
        self.curated_terms = _curated_terms(curated)
        self.negative_words = _negative_words(curated)
        self.excluded = excluded
        self.genera: set[str] = set()
        self.vernacular: set[str] = set()
        self.users: defaultdict[str, set[str]] = defaultdict(set)
        self.languages: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        self.families: defaultdict[str, set[str]] = defaultdict(set)
        for entry in imported:
            taxon = entry["taxon"]
            if entry["rank"] == "GENUS":
                self.genera.add(_key(taxon))
            elif entry["rank"] in BELOW_GENUS:
                self.genera.add(_key(taxon.split(" ", 1)[0]))
            for language, values in entry.get("names", {}).items():
                for value in values:
                    key = _key(value)
                    self.vernacular.add(key)
                    self.families[key].add(entry.get("family") or taxon)
                    self.languages[key, taxon].add(language)
                    for word in set(key.split(" ")):
                        self.users[word].add(taxon)
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def reject(self, rule: str, term: str) -> None:
        self.counts[rule] += 1
        self.example(rule, term)

    def example(self, rule: str, term: str) -> None:
        examples = self.examples.setdefault(rule, [])
        if len(examples) < 8 and term not in examples:
            examples.append(term)

    def scientific(self, entry: Mapping[str, Any]) -> list[str]:
        """The scientific terms of an imported taxon that may match (rules S1-S3, C2)."""
        kept: list[str] = []
        for name in entry.get("scientific", []):
            key = _key(name)
            if key in self.curated_terms:
                self.reject("curated_term", name)
            elif key in self.excluded:
                self.reject("not_listed_name", name)
            elif " " in key:  # S1
                kept.append(name)
            elif entry["rank"] in HIGHER_RANKS:  # S2
                if key in COMMON_WORDS:
                    self.reject("common_word", name)
                else:
                    kept.append(name)
            elif (  # S3
                _letters(key) < MIN_GENUS_LETTERS or key in COMMON_WORDS or key in self.vernacular
            ):
                self.reject("short_genus", name)
                kept += [f"{name} sp", f"{name} spp"]
            else:
                kept.append(name)
        return kept

    def names(self, entry: Mapping[str, Any]) -> dict[str, list[str]]:
        """The common names of an imported taxon that may match (rules C2-C6)."""
        kept: dict[str, list[str]] = {}
        partial = NOT_COVERED in entry["appendix"].split("/")
        for language, values in entry.get("names", {}).items():
            for value in values:
                rule = "partly_listed" if partial else self._name_rule(value, entry)
                if rule:
                    self.reject(rule, value)
                else:
                    kept.setdefault(language, []).append(value)
        return kept

    def _own_word(self, key: str, taxon: str) -> bool:
        """Whether `key` is `taxon`'s own name in 2+ languages and no other taxon's whole name.

        "Ocelot" names Leopardus pardalis in several languages and is only a word of the
        names of its relatives ("Tree Ocelot"): it is that taxon's name, not a group word.
        """
        return len(self.languages[key, taxon]) >= 2 and not any(
            (key, other) in self.languages for other in self.users[key] if other != taxon
        )

    def _name_rule(self, value: str, entry: Mapping[str, Any]) -> str | None:
        key = _key(value)
        taxon = entry["taxon"]
        if not key:
            return "empty"
        if key in self.curated_terms:
            return "curated_term"  # C2
        if key in self.excluded:
            return "not_listed_name"
        if len(self.families[key]) >= PLACEHOLDER_FAMILIES:
            return "placeholder"  # C7
        if _unspaced(key[0]) or _unspaced(key[-1]):  # C4
            return "short_unspaced" if len(key.replace(" ", "")) < MIN_UNSPACED_CHARS else None
        words = key.split(" ")
        if len(words) > 1:  # C5
            if key in COMMON_WORDS or all(w in EVERYDAY_WORDS or len(w) < 3 for w in words):
                return "everyday_phrase"
            return None
        if entry["rank"] in HIGHER_RANKS:
            return "group_word"  # C3a
        letters = _letters(key)
        if letters < MIN_SINGLE_WORD_LETTERS:
            return "short_word"  # C3b
        if key in self.genera:
            return "genus_name"  # C3c
        if key in self.negative_words:
            return "negative_word"  # C3d
        if len(self.users[key] - {taxon}) >= GENERIC_WORD_TAXA and not self._own_word(key, taxon):
            return "generic_word"  # C3e
        if letters < MIN_ONE_LANGUAGE_LETTERS and len(self.languages[key, taxon]) < 2:
            return "one_language_word"  # C3f
        if key in COMMON_WORDS or key.rstrip("s") in COMMON_WORDS:
            return "common_word"  # C3g
        return None


def _yield_accepted_names(
    curated: Mapping[str, Any], imported_taxa: Sequence[Mapping[str, Any]]
) -> tuple[Mapping[str, Any], list[str]]:
    """`curated` less the scientific terms that are another, imported taxon's accepted name.

    The curated lexicon may list species under a grouping ("Ariocarpus kotschoubeyanus" as a
    term of the genus Ariocarpus); when the import has that species, the name is the
    species': the import is authoritative on taxonomy, the curated lexicon on vernacular
    names, trade terms and code words. Returns the adjusted copy and "name: from → to" notes.
    """
    accepted = {_key(entry["taxon"]): entry["taxon"] for entry in imported_taxa}
    moved: list[str] = []
    taxa: list[dict[str, Any]] = []
    for entry in curated.get("taxa", []):
        kept = []
        for name in entry.get("scientific", []):
            owner = accepted.get(_key(name))
            if owner is not None and owner != entry["taxon"]:
                moved.append(f"{name}: {entry['taxon']} → {owner}")
            else:
                kept.append(name)
        taxa.append({**entry, "scientific": kept} if "scientific" in entry else dict(entry))
    return {**curated, "taxa": taxa}, moved


def merge(
    curated: Mapping[str, Any],
    imported: Mapping[str, Any] | None,
    *,
    appendices: Collection[str] | None = None,
    ranks: Collection[str] | None = None,
) -> MergeResult:
    """The curated lexicon with the imported taxa laid under it, ready for `SpeciesMatcher`.

    Curated entries keep their names, trade terms and code words; an imported listing
    (appendix, annotation) replaces the curated one of the same taxon. Imported taxa the
    curated lexicon excludes (`not_listed`) are skipped, and the import's own not-listed
    taxa join the curated ones. `appendices` and `ranks`, when given, are the values the
    matcher accepts: an imported appendix outside them is fitted with `fit_appendix`, and a
    taxon whose rank or appendix still does not fit is skipped (counted as
    `unsupported_rank` / `unsupported_appendix`).
    """
    result = MergeResult(lexicon={})
    counts = result.counts
    imported = imported or {}
    imported_taxa: list[Mapping[str, Any]] = list(imported.get("taxa", []))
    curated, moved = _yield_accepted_names(curated, imported_taxa)
    counts["curated_scientific_moved"] = len(moved)
    curated_excluded = {
        _key(name)
        for entry in curated.get("not_listed", [])
        for name in [entry.get("taxon", ""), *entry.get("scientific", [])]
        if name
    }
    # Names of the import's not-listed taxa, less those that are a listed taxon's own name
    # or a curated term: the accepted name and the curated lexicon win.
    listed_names = {_key(entry["taxon"]) for entry in imported_taxa}
    curated_terms = _curated_terms(curated)
    imported_not_listed: list[dict[str, Any]] = []
    for entry in imported.get("not_listed", []):
        if _key(entry["taxon"]) in curated_excluded or (ranks and entry["rank"] not in ranks):
            continue
        names = [
            name
            for name in entry.get("scientific", [])
            if _key(name) not in curated_terms and _key(name) not in listed_names
        ]
        if names:
            imported_not_listed.append({**entry, "scientific": names, "suppresses": []})
    imported_excluded = {_key(n) for e in imported_not_listed for n in e["scientific"]}
    guard = _Guard(curated, imported_taxa, curated_excluded | imported_excluded)
    for change in moved:
        guard.example("curated_scientific_moved", change)
    curated_index = {entry["taxon"]: i for i, entry in enumerate(curated.get("taxa", []))}
    taxa: list[dict[str, Any]] = [dict(entry) for entry in curated.get("taxa", [])]
    for entry in imported_taxa:
        appendix: str | None = entry["appendix"]
        if appendices is not None:
            appendix = fit_appendix(entry["appendix"], appendices)
            if appendix is None:
                counts["unsupported_appendix"] += 1
                continue
            if appendix != entry["appendix"]:
                counts["appendix_fitted"] += 1
        position = curated_index.get(entry["taxon"])
        if position is not None:  # C1: the curated entry keeps its terms, takes the listing
            target = taxa[position]
            if target.get("appendix") != appendix:
                counts["listing_replaced"] += 1
                change = f"{entry['taxon']}: {target.get('appendix')} → {appendix}"
                guard.example("listing_replaced", change)
            # The import's whole listing, or the curated one if the listing is unchanged.
            whole = entry.get("spp_appendix") or (
                target.get("spp_appendix") if target.get("appendix") == appendix else None
            )
            target["appendix"] = appendix
            target.pop("spp_appendix", None)
            if whole in appendix.split("/"):
                target["spp_appendix"] = whole
            target.pop("annotation", None)
            if entry.get("annotation"):
                target["annotation"] = entry["annotation"]
            target["listing_source"] = entry.get("source")
            counts["curated_listed"] += 1
            synonyms = guard.scientific({**entry, "scientific": entry.get("scientific", [])[1:]})
            if synonyms:  # the import's synonyms join the curated scientific names
                target["scientific"] = [*target.get("scientific", []), *synonyms]
                counts["curated_synonyms_added"] += len(synonyms)
            dropped = sum(len(v) for v in entry.get("names", {}).values())
            if dropped:
                guard.counts["curated_taxon"] += dropped
            continue
        if _key(entry["taxon"]) in curated_excluded:
            counts["excluded_by_curated"] += 1
            continue
        if ranks is not None and entry["rank"] not in ranks:
            counts["unsupported_rank"] += 1
            continue
        scientific = guard.scientific(entry)
        names = guard.names(entry)
        merged = {k: v for k, v in entry.items() if k not in ("scientific", "names")}
        merged["appendix"] = appendix
        if merged.get("spp_appendix") not in appendix.split("/"):
            merged.pop("spp_appendix", None)  # fitted away with the part it named
        merged["scientific"] = scientific
        if names:
            merged["names"] = names
        taxa.append(merged)
        counts["imported_taxa"] += 1
        counts["imported_terms"] += len(scientific) + sum(len(v) for v in names.values())

    not_listed = [dict(entry) for entry in curated.get("not_listed", [])] + imported_not_listed
    counts["imported_not_listed"] = len(imported_not_listed)

    counts.update({f"rejected_{rule}": n for rule, n in guard.counts.items()})
    result.examples = guard.examples
    lexicon = {k: v for k, v in curated.items() if k != "taxa"}
    lexicon["taxa"] = taxa
    lexicon["not_listed"] = not_listed
    lexicon.setdefault("negative_contexts", [])
    result.lexicon = lexicon
    return result
