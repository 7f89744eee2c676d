"""@mentions in a case's forum: which units and people a comment names.

A comment may name a unit by its code (`@GB`) or a person by their e-mail name or their
name (`@alice`, `@alice.martin`, `@AliceMartin`). Parsing is pure: it finds the handles in a
text, and `resolve` decides what each one names given the units and people who could be
meant. Officers quote sellers' social-media handles (`@ivory_king`) in their comments, so a
handle that names nobody is plain text, not an error; a unit code is always a unit, and
naming a unit the case is not with is an error the author must fix (sharing is a separate,
deliberate act). An e-mail address (`alice@example.org`) and a URL (`https://x.com/@shop`)
contain no mention.

Nothing here reads a database: callers pass the candidates in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = [
    "Mention",
    "Person",
    "Resolution",
    "find_mentions",
    "handles_of",
    "resolve",
    "segments",
]

T = TypeVar("T")

# `@` not glued to a word, another `@`, or an address-like character before it.
_MENTION = re.compile(r"(?<![\w@.+\-])@(\w[\w.\-]*)", re.UNICODE)
# Spans where an `@` is part of an address, not a mention.
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# A handle ends at a letter or digit: "@GB." at the end of a sentence names GB.
_TRAILING = ".-"


@dataclass(frozen=True, slots=True)
class Mention:
    """One `@handle` in a text: the handle as written (without `@`) and where it is
    (`start` at the `@`, `end` after the handle)."""

    handle: str
    start: int
    end: int

    @property
    def key(self) -> str:
        """The handle as compared: case-insensitive."""
        return self.handle.casefold()


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who can see the case and may be mentioned."""

    id: int
    name: str
    email: str
    unit_code: str | None = None


@dataclass(slots=True)
class Resolution:
    """What a text's mentions name.

    `units` and `accounts` in order of first mention, each once; `handles` the keys that
    named someone (for highlighting); `problems` messages for the author (a unit the case
    is not with, a handle that names several people).
    """

    units: list[str] = field(default_factory=list)
    accounts: list[int] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, list[str] | list[int]]:
        """The shape stored in `CaseComment.mentions`."""
        return {"units": self.units, "accounts": self.accounts, "handles": self.handles}


def find_mentions(text: str) -> list[Mention]:
    """Every `@handle` in `text`, in order, outside URLs and e-mail addresses."""
    urls = [m.span() for m in _URL.finditer(text)]
    found: list[Mention] = []
    for match in _MENTION.finditer(text):
        start = match.start()
        if any(a <= start < b for a, b in urls):
            continue
        handle = match.group(1).rstrip(_TRAILING)
        end = start + 1 + len(handle)
        if end < len(text) and text[end] == "@":  # "@alice@example.org": an address
            continue
        if handle:
            found.append(Mention(handle, start, end))
    return found


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"\s+", name.strip().casefold()) if w]


def handles_of(person: Person) -> list[tuple[int, str]]:
    """The handles that name `person`, as (tier, key): a lower tier wins a tie.

    Tier 1: the e-mail's local part. Tier 2: the whole name, its words joined by nothing,
    `.`, `_` or `-`. Tier 3: the first word of the name.
    """
    found: list[tuple[int, str]] = []
    local = person.email.partition("@")[0].casefold()
    if local:
        found.append((1, local))
    words = _words(person.name)
    if words:
        found += [(2, joiner.join(words)) for joiner in ("", ".", "_", "-")]
        if len(words) > 1:
            found.append((3, words[0]))
    return found


def resolve(
    text: str,
    *,
    case_units: Iterable[str],
    known_units: Iterable[str],
    people: Sequence[Person],
) -> Resolution:
    """What the mentions of `text` name.

    `case_units`: the units the case is with; `known_units`: every unit code (a code not
    among the case's units is an error, never a silent share); `people`: those who can see
    the case. A handle that is a unit code names the unit; otherwise the person it names
    (e-mail name first, then full name, then first name when only one person has it).
    """
    with_case = {u.casefold(): u for u in case_units}
    units = {u.casefold(): u for u in known_units} | with_case
    by_tier: dict[int, dict[str, set[int]]] = {1: {}, 2: {}, 3: {}}
    for person in people:
        for tier, key in handles_of(person):
            by_tier[tier].setdefault(key, set()).add(person.id)
    names = {p.id: p.name or p.email for p in people}

    result = Resolution()
    for mention in find_mentions(text):
        key = mention.key
        if key in units:
            code = units[key]
            if key not in with_case:
                _add(result.problems, f"not shared with {code}: share it first")
            else:
                _add(result.units, code)
                _add(result.handles, key)
            continue
        for tier in (1, 2, 3):
            ids = by_tier[tier].get(key, set())
            if len(ids) == 1:
                _add(result.accounts, next(iter(ids)))
                _add(result.handles, key)
                break
            if len(ids) > 1:
                who = ", ".join(sorted(names[i] for i in ids))
                _add(
                    result.problems,
                    f"@{mention.handle} names several people ({who}): use their e-mail name",
                )
                break
    return result


def segments(text: str, handles: Iterable[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_mention) so a page or a chat message can highlight the
    mentions that named someone; the pieces joined give `text` back."""
    wanted = {h.casefold() for h in handles}
    pieces: list[tuple[str, bool]] = []
    at = 0
    for mention in find_mentions(text):
        if mention.key not in wanted:
            continue
        if mention.start > at:
            pieces.append((text[at : mention.start], False))
        pieces.append((text[mention.start : mention.end], True))
        at = mention.end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def _add(items: list[T], value: T) -> None:
    if value not in items:
        items.append(value)
