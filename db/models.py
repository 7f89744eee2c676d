"""The tables of wildflag.

Raw input is kept apart from the decisions made about it: a `Report` holds the submission
as received; an `Analysis` holds what the matcher (with its lexicon version) and the
jurisdiction rules made of it; a `Case` is what units work on; each `Delivery` is one
destination's copy of a notification. Re-running a newer matcher adds a new analysis and
never rewrites an old one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.types import JSONType, UTCDateTime, utcnow
from matching.species import SpeciesMatch as Match

# Named constraints, so migrations can alter them on SQLite (batch mode) and PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _created(*, index: bool = False) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


class Unit(SQLModel, table=True):
    """A national unit for internet wildlife crime, or a coordinating body."""

    __tablename__ = "units"

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=200)
    kind: str = Field(default="national", max_length=20)  # national | coordinating
    countries: list[str] = Field(default_factory=list, sa_type=JSONType)
    # Empty means every appendix; otherwise the highest appendices ("I", "II", "III",
    # "review") of the cases this unit takes.
    appendices: list[str] = Field(default_factory=list, sa_type=JSONType)
    # Empty means every case; otherwise taxon names (any rank: "Orchidaceae", "Dalbergia",
    # "Elasmobranchii", "Plantae") one of which a case's species must fall under.
    taxa: list[str] = Field(default_factory=list, sa_type=JSONType)
    # Opt-in: also receive cases reported by someone who declared one of `countries`.
    reporter_cases: bool = False
    channels: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    active: bool = True
    created_at: datetime = _created()


class Case(SQLModel, table=True):
    """What a unit works on: one listing (or picture) however many times it was reported."""

    __tablename__ = "cases"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="new", max_length=40, index=True)
    # critical (Appendix I) | high (II) | normal (III) | review
    priority: str = Field(max_length=20)
    priority_rank: int = Field(index=True)  # 1 = Appendix I … 4 = review; sorts the queue
    appendix: str | None = Field(default=None, max_length=16)
    country: str | None = Field(default=None, max_length=2)
    title: str = Field(default="", max_length=1000)
    report_count: int = 0
    # Set when officers merged this case into another; its reports now live there.
    merged_into_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    # What officers did with it (status: db.cases.OPEN_STATES, then closed). Who did each
    # step is in the audit trail; these columns are the current state, for queues.
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="accounts.id")
    assigned_account_id: int | None = Field(default=None, foreign_key="accounts.id", index=True)
    assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why a closed case was closed: db.cases.OUTCOMES (removed, seized, no_offence, …).
    outcome: str | None = Field(default=None, max_length=40)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by_id: int | None = Field(default=None, foreign_key="accounts.id")
    created_at: datetime = _created(index=True)  # the queue's and trends' date filters
    updated_at: datetime = _created()


class Listing(SQLModel, table=True):
    """An online listing, known by its canonical key; every URL of it leads to one case."""

    __tablename__ = "listings"

    id: int | None = Field(default=None, primary_key=True)
    url_key: str = Field(max_length=2100, unique=True)
    url: str = Field(max_length=2100)
    host: str = Field(max_length=255)
    platform: str | None = Field(default=None, max_length=60)
    case_id: int = Field(foreign_key="cases.id", index=True)
    first_seen_at: datetime = _created()


class Account(SQLModel, table=True):
    """Someone (or a system such as the bot) acting with a role, optionally for one unit."""

    __tablename__ = "accounts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=200)
    # officer | unit_admin | observer | coordinator | admin | bot
    role: str = Field(max_length=20)
    unit_code: str | None = Field(default=None, foreign_key="units.code", max_length=16)
    disabled: bool = False
    # Signing in to the dashboard: a lower-cased e-mail address, an argon2 password hash
    # and, when the person enrolled an authenticator app, its TOTP secret (base32; it must
    # be readable to check a code, so it is as sensitive as the database itself).
    email: str | None = Field(default=None, max_length=320, unique=True)
    password_hash: str | None = Field(default=None, max_length=200)
    totp_secret: str | None = Field(default=None, max_length=64)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()


class WebSession(SQLModel, table=True):
    """A signed-in dashboard browser. The cookie holds a random secret; only its SHA-256
    is stored. `csrf_token` is the synchronizer token every form of the session carries.
    """

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _created()
    last_seen_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # the first characters, to tell tokens apart in lists
    created_at: datetime = _created()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TelegramLink(SQLModel, table=True):
    """A Telegram user who acts as an account: the bot may speak for them (X-Telegram-User).

    One Telegram user per account and one account per Telegram user; linking again replaces.
    """

    __tablename__ = "telegram_links"

    id: int | None = Field(default=None, primary_key=True)
    # Telegram user ids exceed 32 bits.
    telegram_user_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    account_id: int = Field(foreign_key="accounts.id", unique=True)
    created_at: datetime = _created()


class TelegramLinkCode(SQLModel, table=True):
    """A one-time code a unit admin gives an officer to link their Telegram account.

    Only its SHA-256 is stored; it works once (`used_at`) and only until `expires_at`.
    """

    __tablename__ = "telegram_link_codes"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    issued_by_id: int | None = Field(default=None, foreign_key="accounts.id")
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()


class Report(SQLModel, table=True):
    """One submission exactly as a reporter sent it, with the case it was attached to."""

    __tablename__ = "reports"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    listing_id: int | None = Field(default=None, foreign_key="listings.id", index=True)
    channel: str = Field(default="api", max_length=20)  # api | extension | bot
    account_id: int | None = Field(default=None, foreign_key="accounts.id", index=True)
    receipt_hash: str | None = Field(default=None, max_length=64, unique=True)
    # True when the report joined a case that already existed. Shown to officers only.
    duplicate: bool = False
    status: str = Field(default="received", max_length=40)
    url: str = Field(default="", max_length=2100)
    title: str = ""
    text: str = ""
    price: str = ""
    currency: str = Field(default="", max_length=8)
    seller: str = ""
    seller_location: str = ""
    ships_to: str = ""
    reporter_country: str = Field(default="", max_length=2)
    notes: str = ""
    submitted: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # Idempotency-Key: SHA-256 of the caller's scope and key, so a client's retry of a
    # report whose answer was lost finds this report instead of storing a second one. The
    # unique constraint is what stops two concurrent retries from both storing it.
    idempotency_key_hash: str | None = Field(default=None, max_length=64, unique=True)
    # An anonymous report's receipt token sealed with a pad derived from the key (hex): a
    # replay can hand the reporter the very token they lost, while the database alone (which
    # holds only hashes of both) cannot reveal it.
    idempotency_receipt: str | None = Field(default=None, max_length=200)
    created_at: datetime = _created(index=True)


class Evidence(SQLModel, table=True):
    """A file that came with a report, stored content-addressed under the data dir.

    `sha256` names the stored (served) copy, from which EXIF and GPS were removed;
    `original_sha256` is the digest of the bytes as received, kept as proof of what arrived.
    """

    __tablename__ = "evidence"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="reports.id", index=True)
    kind: str = Field(max_length=20)  # image | screenshot | snapshot
    sha256: str = Field(max_length=64, index=True)
    original_sha256: str = Field(max_length=64, index=True)
    media_type: str = Field(max_length=100)
    size: int
    width: int | None = None
    height: int | None = None
    filename: str = Field(default="", max_length=255)
    created_at: datetime = _created()


class Analysis(SQLModel, table=True):
    """What the machine made of one report, with the versions of the rules that made it."""

    __tablename__ = "analyses"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="reports.id", index=True)
    lexicon_version: str = Field(max_length=100)
    rules_version: str = Field(max_length=100)
    flagged: bool
    priority: str = Field(max_length=20)
    appendix: str | None = Field(default=None, max_length=16)
    url_key: str | None = Field(default=None, max_length=2100)
    created_at: datetime = _created()


class SpeciesMatch(SQLModel, table=True):
    """One species (or higher taxon) recognised in a report's text, and why."""

    __tablename__ = "species_matches"

    id: int | None = Field(default=None, primary_key=True)
    analysis_id: int = Field(foreign_key="analyses.id", index=True)
    taxon: str = Field(max_length=200, index=True)
    rank: str = Field(max_length=20)
    family: str | None = Field(default=None, max_length=100)
    order_name: str | None = Field(default=None, max_length=100)
    class_name: str | None = Field(default=None, max_length=100)
    appendix: str = Field(max_length=16)
    term: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    start: int
    end: int
    confidence: float
    lexicon_version: str = Field(max_length=100)

    @staticmethod
    def values_of(match: Match, *, analysis_id: int, lexicon_version: str) -> dict[str, Any]:
        """The row's values for one match the species matcher made (what
        `db.inserts.insert_rows` takes)."""
        return {
            "analysis_id": analysis_id,
            "taxon": match.taxon,
            "rank": match.rank,
            "family": match.family,
            "order_name": match.order,
            "class_name": match.class_,
            "appendix": match.appendix,
            "term": match.term[:200],
            "kind": match.kind,
            "start": match.start,
            "end": match.end,
            "confidence": match.confidence,
            "lexicon_version": lexicon_version,
        }

    @property
    def order(self) -> str | None:
        return self.order_name

    @property
    def class_(self) -> str | None:
        return self.class_name

    def to_dict(self) -> dict[str, Any]:
        """The match in the API's shape, the same as `matching.species.SpeciesMatch.to_dict`."""
        return {
            "taxon": self.taxon,
            "rank": self.rank,
            "family": self.family,
            "order": self.order_name,
            "class": self.class_name,
            "appendix": self.appendix,
            "term": self.term,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
        }


class JurisdictionDecision(SQLModel, table=True):
    """Whose case it is, with every signal that weighed in."""

    __tablename__ = "jurisdiction_decisions"

    id: int | None = Field(default=None, primary_key=True)
    analysis_id: int = Field(foreign_key="analyses.id", index=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    country: str | None = Field(default=None, max_length=2)
    confidence: float
    signals: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    routed_to: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    rules_version: str = Field(max_length=100)
    created_at: datetime = _created()


class CaseUnit(SQLModel, table=True):
    """A unit a case was routed (or later shared) to, and the reason."""

    __tablename__ = "case_units"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    unit_code: str = Field(foreign_key="units.code", primary_key=True, max_length=16)
    reason: str = ""
    # routed (by intake) | rerouted | shared (by a unit, to work it together) | merged | split
    kind: str = Field(default="routed", max_length=20)
    created_at: datetime = _created()


class CaseComment(SQLModel, table=True):
    """A message in a case's forum, between the units the case is routed or shared to.

    `mentions` holds the unit codes and account ids the author named (`@UNIT`, `@name`),
    which are notified through their channels.
    """

    __tablename__ = "case_comments"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    account_id: int = Field(foreign_key="accounts.id")
    unit_code: str | None = Field(default=None, foreign_key="units.code", max_length=16)
    body: str
    mentions: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = _created()


class Platform(SQLModel, table=True):
    """An online platform: its wildlife policy and where to report or request a takedown."""

    __tablename__ = "platforms"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    # Hosts it serves listings from ("ebay.com", "facebook.com"); a case's listing host
    # names its platform.
    domains: list[str] = Field(default_factory=list, sa_type=JSONType)
    policy_url: str = Field(default="", max_length=2100)
    report_url: str = Field(default="", max_length=2100)
    contact_email: str = Field(default="", max_length=320)
    notes: str = ""
    created_at: datetime = _created()


class PlatformReferral(SQLModel, table=True):
    """A case referred to a platform: where and when, and whether the listing came down."""

    __tablename__ = "platform_referrals"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    platform_id: int = Field(foreign_key="platforms.id", index=True)
    referred_by_id: int = Field(foreign_key="accounts.id")
    unit_code: str | None = Field(default=None, foreign_key="units.code", max_length=16)
    via: str = Field(default="", max_length=500)  # the form, address or contact used
    platform_reference: str = Field(default="", max_length=200)  # their ticket number
    # pending → removed | still_online | refused
    state: str = Field(default="pending", max_length=20)
    note: str = ""
    referred_at: datetime = _created()
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One destination's copy of a notification: the outbox row a worker sends and retries.

    States: pending → sent, or failing (attempts, next_attempt_at) → dead after the limit.
    The dashboard channel is delivered by being stored, so its rows start as sent.
    """

    __tablename__ = "deliveries"

    __table_args__ = (
        UniqueConstraint(
            "report_id", "unit_code", "channel", "topic", name="uq_delivery_destination"
        ),
        Index("ix_delivery_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    report_id: int = Field(foreign_key="reports.id", index=True)
    unit_code: str = Field(foreign_key="units.code", max_length=16, index=True)
    channel: str = Field(max_length=20)  # dashboard | webhook | telegram | email
    # What the notification is about: "" for a report of the case (new case or update),
    # "comment:<id>" for a forum message that concerns the unit.
    topic: str = Field(default="", max_length=40)
    target: str = Field(default="", max_length=500)
    state: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = ""
    idempotency_key: str = Field(max_length=64, unique=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Who did what to which object, and when. Appended to, never edited."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created(index=True)
    actor: str = Field(max_length=100)  # "anonymous", "account:12", "system"
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class SpentProof(SQLModel, table=True):
    """A solved proof-of-work challenge that has earned a report.

    Kept in the database every instance shares, so a challenge earns one report behind any
    number of instances and across restarts. Rows go once their challenge has expired:
    an expired challenge is refused as expired anyway.
    """

    __tablename__ = "spent_proofs"

    nonce: str = Field(primary_key=True, max_length=64)  # the challenge's, hex
    expires_at: int = Field(index=True)  # Unix seconds, as the challenge signs it


class RateEvent(SQLModel, table=True):
    """One event a rate limit counts (a report, a failed sign-in) for one key.

    Used on PostgreSQL, where several instances share the database, so a client's limit
    holds across all of them instead of once per instance (`ratelimit.SharedRateLimiter`).
    A key's rows go once they fall out of its window.
    """

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_key_at", "key", "at"),)

    # BIGINT on PostgreSQL (ids only grow); SQLite numbers rows itself only in an INTEGER key.
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    key: str = Field(max_length=400)  # the limit's name and the client's key
    at: float  # Unix seconds


class ImageHash(SQLModel, table=True):
    """One perceptual hash of an evidence image (an image has several: as received,
    mirrored, and of centred crops), kept so each instance's in-memory near-duplicate
    index can be rebuilt at start and catch up with the others by id.
    """

    __tablename__ = "image_hashes"

    id: int | None = Field(default=None, primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    algorithm: str = Field(max_length=40)
    variant: str = Field(max_length=40)
    value: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = _created()


class ImageMatch(SQLModel, table=True):
    """A near-duplicate found at intake: which stored image a new one matched, how closely,
    and whether the report joined that image's case or only links to it (another unit's).
    """

    __tablename__ = "image_matches"

    id: int | None = Field(default=None, primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    matched_evidence_id: int = Field(foreign_key="evidence.id", index=True)
    algorithm: str = Field(max_length=40)
    distance: int
    joined: bool
    created_at: datetime = _created()
