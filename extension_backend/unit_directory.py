"""The directory of units as people change it: the checks that the CLI (`wildflag units …`)
and the dashboard's unit administration share, so a value refused in one is refused in
the other with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pycountry

from db.models import Unit
from extension_backend.delivery.address_guard import IPNetwork, url_problem
from extension_backend.delivery.channels import CONFIGURABLE_TYPES
from matching.routing import APPENDICES, parse_taxa

UNIT_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{1,15}")


class UnitChangeError(ValueError):
    """A `units add/edit/show` request that cannot be carried out; the message says why."""


def countries_arg(text: str) -> list[str]:
    """ISO 3166-1 alpha-2 codes from "GB GG JE" (or commas), upper-cased, each once.

    Checked against pycountry so that a typo ("UK") does not leave a country unrouted.
    """
    codes = list(dict.fromkeys(text.replace(",", " ").upper().split()))
    unknown = [c for c in codes if len(c) != 2 or pycountry.countries.get(alpha_2=c) is None]
    if unknown:
        raise UnitChangeError(
            f"unknown country codes: {', '.join(unknown)} (ISO 3166-1 alpha-2, e.g. GB, FR)"
        )
    return codes


def appendices_arg(text: str) -> list[str]:
    """Appendix filter values from "I II" or "review", in their canonical spelling."""
    canonical = {value.lower(): value for value in APPENDICES}
    given = list(dict.fromkeys(text.replace(",", " ").split()))
    unknown = [value for value in given if value.lower() not in canonical]
    if unknown:
        raise UnitChangeError(
            f"unknown appendices: {', '.join(unknown)} (one of {', '.join(APPENDICES)})"
        )
    return [canonical[value.lower()] for value in given]


def taxa_arg(text: str) -> list[str]:
    """Taxon names from "Orchidaceae Dalbergia" or "Dalbergia nigra, Orchidaceae"."""
    names = sorted(parse_taxa(text), key=str.lower)
    bad = [name for name in names if not re.fullmatch(r"[^\W\d_][\w .-]*", name)]
    if bad:
        raise UnitChangeError(f"not taxon names: {', '.join(bad)}")
    return names


def unit_code_arg(code: str) -> str:
    code = code.strip().upper()
    if not UNIT_CODE.fullmatch(code):
        raise UnitChangeError(
            f"unit code {code!r}: 2 to 16 letters, digits, '-' or '_', e.g. GB or FR-REVIEW"
        )
    return code


def channel_target_problem(
    kind: str, target: str, allowed_networks: Sequence[IPNetwork] | None = None
) -> str | None:
    """Why `target` cannot be a `kind` channel's address, or None.

    With `allowed_networks` (the operator's `delivery_allow_private_networks`), a webhook
    to an address the delivery guard would refuse (loopback, private, metadata…, in any
    spelling) is refused now, not at the first send. Without it the address is not
    judged here; the guard still refuses it at send time.
    """
    if kind == "webhook" and not target.startswith(("https://", "http://")):
        return "a webhook target is an http(s):// URL"
    if kind == "webhook" and allowed_networks is not None:
        return url_problem(target, allowed_networks)
    if kind == "email" and "@" not in target:
        return "an email target is an e-mail address"
    if kind == "telegram" and not (target.lstrip("-").isdigit() or target.startswith("@")):
        return "a telegram target is a chat id (e.g. -1001234567890) or @channelname"
    return None


def channel_problem(
    unit: Unit, kind: str, target: str, allowed_networks: Sequence[IPNetwork] | None = None
) -> str | None:
    """Why a `kind` channel to `target` cannot be added to `unit`, or None.

    One outbox row per report, unit and channel type: a second channel of a type could not
    be kept apart, so it is refused. `allowed_networks`: see `channel_target_problem`.
    """
    if kind not in CONFIGURABLE_TYPES:
        return f"a channel type is one of {', '.join(CONFIGURABLE_TYPES)}"
    if any(c.get("type") == kind for c in unit.channels):
        return f"unit {unit.code} already has a {kind} channel; remove it first"
    return channel_target_problem(kind, target, allowed_networks)


def apply_unit_changes(unit: Unit, changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set `changes` on `unit` after the rules that span fields; returns what changed,
    `{field: {"from": old, "to": new}}`, for the audit row."""
    kind = changes.get("kind", unit.kind)
    if kind == "national" and not changes.get("countries", unit.countries):
        raise UnitChangeError("a national unit needs countries")
    done = {
        field: {"from": getattr(unit, field), "to": value}
        for field, value in changes.items()
        if getattr(unit, field) != value
    }
    for field, change in done.items():
        setattr(unit, field, change["to"])  # new lists: in-place JSON edits are not saved
    return done
