"""The API's request and response shapes, as pydantic models.

The handlers validate with exactly these models and `openapi.py` describes the API from
them, so the document cannot drift from what is enforced. Length limits come from the
settings, which is why the request models are built by `build_schemas(settings)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    create_model,
)
from pydantic_core import PydanticCustomError

from extension_backend.settings import Settings
from matching.urls import INVISIBLE_MESSAGE, has_invisible


def _country(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. FR")
    return code


def _currency(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError("must be an ISO 4217 currency code, e.g. EUR")
    return code


def _http_url(value: str | None) -> str | None:
    if not value:
        return None
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// address")
    if has_invisible(value):  # the rule `canonical_url` applies, named in the error
        raise PydanticCustomError("invalid_url", INVISIBLE_MESSAGE)
    return value


def _one_line(value: str | None) -> str | None:
    """Line breaks (any that `str.splitlines` knows, U+2028 included) become spaces.

    A title, a seller or a place is one line on the listing. Notifications are built line
    by line ("Seller: …", "Case: <link>"), so a break typed into one of these fields could
    forge a line of the unit's mail or chat; long fields (`text`, `notes`) keep theirs.
    """
    if value is None:
        return None
    return " ".join(part.strip() for part in value.splitlines()).strip()


CountryCode = Annotated[str | None, AfterValidator(_country)]
CurrencyCode = Annotated[str | None, AfterValidator(_currency)]

Channel = Literal["api", "extension", "bot"]


class StrictInput(BaseModel):
    """Base of request models: unknown keys are refused, surrounding spaces trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


#: The largest row id: ids are PostgreSQL INTEGER columns (32-bit). A larger number in a
#: path or body is no id at all; sent to the database it would fail the query (a 500), so
#: it is refused before any query (found by the API fuzzer, tests/backend/test_api_fuzz.py).
MAX_ROW_ID = 2**31 - 1
#: An id in a request body: a JSON integer, strictly. Lax mode would read `true` as 1
#: (`{"into": true}` merged into case 1) and "7" or 7.0 as 7.
RowId = Annotated[int, Strict(), Field(ge=1, le=MAX_ROW_ID)]


@dataclass(frozen=True)
class Schemas:
    """The request models of one deployment (their limits come from its settings)."""

    report: type[BaseModel]
    analyze: type[BaseModel]


def build_schemas(settings: Settings) -> Schemas:
    """Request models whose length limits are this deployment's settings."""
    short = Annotated[
        str | None,
        StringConstraints(max_length=settings.max_field_chars),
        AfterValidator(_one_line),
    ]
    long = Annotated[str | None, StringConstraints(max_length=settings.max_text_chars)]
    url = Annotated[
        str | None,
        StringConstraints(max_length=settings.max_url_chars),
        AfterValidator(_http_url),
    ]
    listing: dict[str, Any] = {
        "url": (url, Field(None, description="The listing's address.")),
        "title": (short, Field(None, description="The listing's title.")),
        "text": (long, Field(None, description="The listing's text as the reporter saw it.")),
        "reporter_country": (
            CountryCode,
            Field(None, description="Where the reporter is (ISO-2); a weak routing hint."),
        ),
    }
    report = create_model(
        "ReportIn",
        __base__=StrictInput,
        __doc__="A report of a suspicious listing. At least one of url, text or images.",
        **listing,
        price=(
            # Strict float: JSON `true` is no price (lax mode would store it as 1.0).
            Annotated[str | Annotated[float, Strict()] | None, Field(union_mode="left_to_right")],
            Field(None, description="Price as shown, e.g. '1200' or '1,200.00'."),
        ),
        currency=(CurrencyCode, Field(None, description="ISO 4217 code, e.g. EUR.")),
        seller=(short, Field(None, description="Seller name or handle.")),
        seller_location=(short, Field(None, description="Where the listing says it is.")),
        ships_to=(short, Field(None, description="Where the seller says they ship.")),
        notes=(long, Field(None, description="Anything the reporter wants the unit to know.")),
        channel=(Channel, Field("api", description="Which client sent the report.")),
    )
    analyze = create_model(
        "AnalyzeIn",
        __base__=StrictInput,
        __doc__="One listing to analyse, in the `wildflag analyze` input shape.",
        id=(
            # Strict int: lax mode would echo JSON `true` back as 1.
            Annotated[str | Annotated[int, Strict()] | None, Field(union_mode="left_to_right")],
            Field(None, description="Echoed back."),
        ),
        **listing,
        images=(
            list[str] | None,
            Field(None, description="Ignored over HTTP (file paths are a CLI feature)."),
        ),
    )
    return Schemas(report=report, analyze=analyze)


# --- responses -------------------------------------------------------------------------


class SpeciesOut(BaseModel):
    taxon: str
    rank: str
    family: str | None
    order: str | None
    class_: str | None = Field(alias="class", serialization_alias="class")
    appendix: str = Field(description="As CITES writes it: I, II, III, I/II…")
    term: str = Field(description="The words in the listing that matched.")
    kind: str = Field(description="scientific | common | trade | code")
    start: int
    end: int
    confidence: float
    note: str | None = Field(None, description="How an inexact mention was read, if it was.")

    model_config = ConfigDict(populate_by_name=True)


class OverruledOut(SpeciesOut):
    reason: str = Field(description="Why the context shows no specimen on offer.")
    rule: str


class SignalOut(BaseModel):
    signal: str
    value: str
    country: str
    weight: float


class AnalysisOut(BaseModel):
    id: str | int | None = None
    flagged: bool = Field(description="Plausibly offers a specimen of a CITES-listed taxon.")
    priority: str = Field(description="critical (Appendix I) | high (II) | normal (III) | review")
    species: list[SpeciesOut]
    overruled: list[OverruledOut] = Field(
        default_factory=list, description="Mentions overruled by their context, with reasons."
    )
    country: str | None
    country_reasons: list[SignalOut]
    units: list[str]
    url_key: str | None = None
    lexicon_version: str
    rules_version: str
    duplicate: bool | None = Field(
        None, description="Authenticated officers only: the listing was already reported."
    )
    case_id: int | None = Field(None, description="Authenticated officers only: its case.")
    case_reports: int | None = Field(
        None, description="Authenticated officers only: how many reports the case holds."
    )


class ReceiptOut(BaseModel):
    reference: str
    receipt_token: str | None = Field(
        None, description="Anonymous reports only: the secret that opens the status page."
    )
    status_url: str
    species: list[SpeciesOut]
    priority: str
    routed_to: list[str]
    case_id: int | None = Field(None, description="Authenticated officers only.")
    duplicate: bool | None = Field(
        None, description="Authenticated officers only: the listing was already known."
    )
    case_reports: int | None = Field(
        None, description="Authenticated officers only: reports in the case, this one included."
    )


class ReportStatusOut(BaseModel):
    reference: str
    status: str
    received_at: str
    species: list[SpeciesOut]
    priority: str
    routed_to: list[str]
    case_id: int | None = None
    case_status: str | None = None
    duplicate: bool | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class HealthOut(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)
