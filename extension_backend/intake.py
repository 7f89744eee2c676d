"""The one path from a submission to a stored, routed case.

Every channel (the JSON API, multipart uploads from the extension, the bot) ends in
`Intake.submit`: validate → clean and store evidence → then in one transaction, run by the
instance's writer (`db.writer`): analyse with `matching` against the units directory as it
is → attach to a case → prioritise → route → write report, evidence, analysis, routing and
outbox rows. If anything fails, nothing of the report remains: the transaction rolls back
and the evidence files this submission created are removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from pydantic import BaseModel
from sqlalchemy import bindparam, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from db.cases import case_units, followed_case
from db.engine import SessionFactory
from db.inserts import insert_row, insert_rows
from db.models import (
    Analysis as AnalysisRow,
)
from db.models import (
    AuditEvent,
    Case,
    CaseUnit,
    Delivery,
    Evidence,
    ImageHash,
    ImageMatch,
    JurisdictionDecision,
    Listing,
    Report,
    SpeciesMatch,
)
from db.outbox import delivery_rows
from db.types import utcnow
from db.units import UnitDirectory, read_unit_directory, unit_rules
from db.writer import Writer
from extension_backend.auth import Principal, hash_secret, new_secret, same_secret
from extension_backend.errors import ApiError, invalid
from extension_backend.evidence import (
    EvidenceError,
    EvidenceStore,
    PreparedFile,
    prepare_image,
    prepare_snapshot,
)
from extension_backend.images import ImageHit, ImageIndex, fingerprint, hash_rows
from extension_backend.proof_of_work import Proof, spend
from extension_backend.settings import Settings
from matching.analysis import PRIORITY_CONFIDENCE, Analysis, analyze, joined_to_case
from matching.fingerprints import Fingerprint
from matching.jurisdiction import Signal
from matching.listing import Listing as ListingFacts
from matching.routing import NoRoute, Taxon, UnitRule
from matching.species import SpeciesMatcher
from matching.urls import InvalidURL, canonical_url

log = logging.getLogger(__name__)

#: A cleaned file and, for a listing image, its fingerprint.
Prepared = tuple[PreparedFile, Fingerprint | None]

#: Crockford's base32 without the look-alikes I, L, O, U: easy to read out on the phone.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Attempts at the case transaction: two reports of one new listing can race to create it.
TRANSACTION_ATTEMPTS = 3
#: How long a repeat with the same Idempotency-Key is answered with the first receipt. Past
#: it the key is free again: a client retrying a day later has a new report to send.
IDEMPOTENCY_WINDOW = timedelta(hours=24)
#: A report with a fingerprinted image holds this PostgreSQL advisory lock (and, within an
#: instance, `Intake._image_turn`) from its image lookup to its commit, so such reports of
#: every instance take turns. Two first reports of one picture arriving at once would
#: otherwise each miss the other's uncommitted hashes and open two cases; and hash ids,
#: taken at insert, would commit out of order, which the id watermark of
#: `ImageIndex.catch_up` would skip for good. Text-only reports never wait for it.
IMAGE_INTAKE_LOCK = 0x77666C6167696D67  # "wflagimg", a bigint key
#: Stored near-duplicates looked at for each picture of a report: the nearest ones. A
#: picture reported again and again has as many stored copies, nearly all in one case;
#: weighing every one of them made each new copy slower than the last (a query or two per
#: copy, and a match row per copy: work growing with every report of a flood).
NEAREST_PER_PICTURE = 10


def new_reference() -> str:
    """A report reference such as `WF-7K3M-9QXD` (40 random bits)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"WF-{chars[:4]}-{chars[4:]}"


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file part of a multipart report, as received."""

    part: str  # images | screenshot | snapshot
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's `Idempotency-Key`, scoped to who sent it.

    An authenticated caller's keys live in their account's scope, so two accounts cannot
    collide. Anonymous callers (and the bot relaying the public) share one scope: nothing
    else tells them apart, so their keys must be random (a UUID) to be theirs alone.
    Only hashes reach the database: a stolen dump neither reveals keys nor lets anyone
    replay a report to obtain its receipt.
    """

    key: str
    scope: str  # "account:<id>" | "anonymous"

    @classmethod
    def of(cls, key: str, principal: Principal | None) -> IdempotencyKey:
        return cls(key, principal.actor if principal is not None else "anonymous")

    @property
    def digest(self) -> str:
        """What `Report.idempotency_key_hash` stores and the unique constraint guards."""
        return hashlib.sha256(f"key\n{self.scope}\n{self.key}".encode()).hexdigest()

    def _pad(self, size: int) -> bytes:
        # A different domain from `digest`: the stored hash says nothing about the pad.
        return hashlib.shake_256(f"receipt\n{self.scope}\n{self.key}".encode()).digest(size)

    def seal(self, receipt_token: str) -> str:
        """The receipt token, recoverable only by someone who presents the key again."""
        raw = receipt_token.encode()
        return bytes(a ^ b for a, b in zip(raw, self._pad(len(raw)), strict=True)).hex()

    def unseal(self, sealed: str) -> str | None:
        try:
            raw = bytes.fromhex(sealed)
            return bytes(a ^ b for a, b in zip(raw, self._pad(len(raw)), strict=True)).decode()
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Submission:
    """A report as a channel hands it to intake: validated fields plus raw files."""

    report: BaseModel
    files: Sequence[IncomingFile] = ()
    principal: Principal | None = None
    #: Set when the client sent `Idempotency-Key`: a repeat returns the first receipt.
    idempotency_key: IdempotencyKey | None = None


@dataclass(frozen=True)
class Receipt:
    """What the reporter is told. `case_id` and `duplicate` are for officers' eyes only."""

    reference: str
    status_url: str
    species: list[dict[str, Any]]
    priority: str
    routed_to: list[str]
    case_id: int
    duplicate: bool
    case_reports: int
    receipt_token: str | None = None
    #: True when this answers a repeat of an Idempotency-Key: nothing new was stored.
    replayed: bool = False

    def for_reporter(self, authenticated: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "reference": self.reference,
            "status_url": self.status_url,
            "species": self.species,
            "priority": self.priority,
            "routed_to": self.routed_to,
        }
        if self.receipt_token is not None:
            body["receipt_token"] = self.receipt_token
        if authenticated:
            # Anonymous receipts never say whether the listing was known: a seller could
            # otherwise report their own listing to learn that it is under watch.
            body["case_id"] = self.case_id
            body["duplicate"] = self.duplicate
            body["case_reports"] = self.case_reports
        return body


def listing_facts(fields: dict[str, Any]) -> ListingFacts:
    """The analysis input from validated report fields."""

    def text(key: str) -> str:
        value = fields.get(key)
        return "" if value is None else str(value)

    return ListingFacts(
        text=text("text"),
        title=text("title"),
        url=text("url"),
        seller=text("seller"),
        seller_location=text("seller_location"),
        ships_to=text("ships_to"),
        price=text("price"),
        currency=text("currency"),
        reporter_country=text("reporter_country"),
    )


class Intake:
    """The intake pipeline of one service instance."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionFactory,
        writer: Writer,
        store: EvidenceStore,
        matcher: SpeciesMatcher,
        images: ImageIndex,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        #: Runs each report's transaction (`db.writer`): on SQLite one thread of its own,
        #: which also makes this instance's reports take turns.
        self.writer = writer
        self.store = store
        self.matcher = matcher
        self.images = images
        self._image_turn = asyncio.Lock()
        #: Digests of the files of submissions under way in this instance (see `_discard`).
        self._in_flight: Counter[str] = Counter()

    async def spend_proof(self, proof: Proof, now: float) -> None:
        """Records a proof of work as used (`proof_of_work.spend`), through the writer like
        a report, so on SQLite it does not meet a report's write in SQLite's busy handler."""
        await self.writer.run(lambda session: spend(session, proof, now))

    async def analyse(self, facts: ListingFacts) -> Analysis:
        """Analyse a listing against the current units directory; stores nothing."""
        async with self.sessions() as session:
            units = await unit_rules(session)
        return self._analysed(facts, units)

    def _analysed(self, facts: ListingFacts, units: Sequence[UnitRule]) -> Analysis:
        try:
            return analyze(facts, units, self.matcher)
        except InvalidURL as exc:
            raise invalid("url", str(exc), code="invalid_url") from None
        except NoRoute as exc:
            # No unit and no coordinating unit: a deployment error, not the reporter's.
            raise ApiError(503, "no_route", f"no unit can receive this report: {exc}") from None

    async def submit(self, submission: Submission) -> Receipt:
        fields = submission.report.model_dump()
        images = [f for f in submission.files if f.part == "images"]
        if not (fields.get("url") or fields.get("text") or images):
            raise invalid("report", "a report needs at least one of url, text or images")
        if len(images) > self.settings.max_images:
            raise ApiError(
                413,
                "too_many_images",
                f"{len(images)} images; at most {self.settings.max_images} per report",
                field="images",
            )
        key = submission.idempotency_key
        if key is not None and (replay := await self.replay(key)) is not None:
            return replay
        if fields.get("url"):
            try:  # refused before any file is stored; analysed in the transaction
                canonical_url(str(fields["url"]))
            except InvalidURL as exc:
                raise invalid("url", str(exc), code="invalid_url") from None
        loop = asyncio.get_running_loop()
        # Decoding and storing pictures is blocking work for a thread; a text-only report,
        # most of them, has none, and skips the two hand-offs.
        prepared = (
            await loop.run_in_executor(None, self._prepare_files, submission.files)
            if submission.files
            else []
        )

        digests = [item.sha256 for item, _ in prepared]
        self._in_flight.update(digests)  # before any file is written: see `_discard`
        created: list[str] = []
        recorded = False
        try:
            try:
                if prepared:
                    await loop.run_in_executor(None, self._store_files, prepared, created)
            except EvidenceError as exc:  # a full disk: 507, the files written are discarded
                raise ApiError(exc.status, exc.code, str(exc)) from None
            for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
                try:
                    receipt = await self._record(submission, fields, prepared)
                    recorded = True
                    return receipt
                except IntegrityError:
                    # A concurrent request with the same key may have won the unique
                    # constraint: then this one is its repeat, and answers as one.
                    if key is not None and (replay := await self.replay(key)) is not None:
                        return replay
                    if attempt == TRANSACTION_ATTEMPTS:
                        raise
                    log.info("intake transaction conflicted; retrying (attempt %d)", attempt)
        finally:
            self._in_flight.subtract(digests)
            for digest in digests:
                if self._in_flight[digest] <= 0:
                    del self._in_flight[digest]
            if created and not recorded:
                await self._discard(created)
        raise AssertionError("unreachable")  # pragma: no cover

    async def replay(self, key: IdempotencyKey) -> Receipt | None:
        """The receipt of the report first sent with `key` in the last 24 h, or None.

        Rebuilt from what was stored: the same reference and, for an anonymous report, the
        same receipt token (unsealed with the key), so a reporter whose first answer was
        lost can still follow their report.
        """
        async with self.sessions() as session:
            report = (
                await session.exec(select(Report).where(Report.idempotency_key_hash == key.digest))
            ).first()
            if report is None or report.created_at < utcnow() - IDEMPOTENCY_WINDOW:
                return None
            case = await session.get(Case, report.case_id)
            assert case is not None
            analysis = (
                await session.exec(
                    select(AnalysisRow)
                    .where(AnalysisRow.report_id == report.id)
                    .order_by(col(AnalysisRow.id))
                )
            ).first()
            species: list[dict[str, Any]] = []
            routed_to: list[str] = []
            if analysis is not None:
                matches = await session.exec(
                    select(SpeciesMatch)
                    .where(SpeciesMatch.analysis_id == analysis.id)
                    .order_by(col(SpeciesMatch.start), col(SpeciesMatch.id))
                )
                species = [m.to_dict() for m in matches.all()]
                decision = (
                    await session.exec(
                        select(JurisdictionDecision).where(
                            JurisdictionDecision.analysis_id == analysis.id
                        )
                    )
                ).first()
                if decision is not None:
                    routed_to = [str(r["unit"]) for r in decision.routed_to]
        receipt_token = None
        if report.idempotency_receipt is not None:
            receipt_token = key.unseal(report.idempotency_receipt)
            if receipt_token is None or not same_secret(receipt_token, report.receipt_hash):
                receipt_token = None  # pragma: no cover - only a tampered row gets here
        status_url = f"{self.settings.base_url}/status/{report.reference}"
        if receipt_token:
            status_url += f"#receipt={receipt_token}"
        return Receipt(
            reference=report.reference,
            status_url=status_url,
            species=species,
            priority=case.priority,
            routed_to=routed_to,
            case_id=report.case_id,
            duplicate=report.duplicate,
            case_reports=case.report_count,
            receipt_token=receipt_token,
            replayed=True,
        )

    async def _discard(self, created: Sequence[str]) -> None:
        """Remove the files this submission wrote, unless another report uses them.

        Files are content-addressed, so another submission of the same picture may have
        found this one's file in place and be about to commit (or have committed) a row
        naming it. A file goes only when no submission of this instance holds its digest
        (`_in_flight`, counted before any file is written) and no evidence row names it.
        The in-flight check runs again right before each removal, with no await in between:
        a submission that starts after it finds the file gone and writes it anew. Several
        instances sharing one evidence volume do not see each other's in-flight digests;
        there the window is one failing and one succeeding submission of one picture at the
        same moment. If the database cannot be asked, the files stay (an orphan file is
        harmless; a removed one named by a report is evidence lost).
        """
        candidates = [digest for digest in created if not self._in_flight[digest]]
        if not candidates:
            return
        try:
            async with self.sessions() as session:
                used = set(
                    (
                        await session.exec(
                            select(Evidence.sha256).where(col(Evidence.sha256).in_(candidates))
                        )
                    ).all()
                )
        except Exception:
            log.warning("kept %d evidence file(s) of a failed report: database unavailable",
                        len(candidates))  # fmt: skip
            return
        for digest in candidates:
            if digest not in used and not self._in_flight[digest]:
                self.store.remove(digest)

    def _prepare_files(self, files: Sequence[IncomingFile]) -> list[Prepared]:
        """Check and clean every file; fingerprint listing images (CPU: in an executor).

        Only listing images are fingerprinted: a screenshot shows a page around the picture,
        and a snapshot is no picture at all.
        """
        prepared: list[Prepared] = []
        for incoming in files:
            try:
                if incoming.part == "snapshot":
                    item = prepare_snapshot(incoming.data, incoming.filename, incoming.content_type)
                else:
                    item = prepare_image(
                        incoming.data,
                        incoming.filename,
                        kind="image" if incoming.part == "images" else incoming.part,
                        max_pixels=self.settings.max_image_pixels,
                    )
            except EvidenceError as exc:
                name = incoming.filename or incoming.part
                raise ApiError(
                    exc.status, exc.code, f"{name}: {exc}", field=incoming.part
                ) from None
            fp = fingerprint(incoming.data, self.images.hash_type) if item.kind == "image" else None
            prepared.append((item, fp))
        return prepared

    def _store_files(self, prepared: Sequence[Prepared], created: list[str]) -> None:
        """Write each file not yet stored; `created` collects the ones this call wrote,
        also when a later one fails (the caller discards them)."""
        for item, _ in prepared:
            if self.store.put(item.data, item.sha256):
                created.append(item.sha256)

    async def _record(
        self, submission: Submission, fields: dict[str, Any], prepared: Sequence[Prepared]
    ) -> Receipt:
        """Analyse and write one report in a transaction of the writer; its receipt once
        committed.

        A report with pictures to look up runs alone (its lookup must see only committed
        hashes: see `IMAGE_INTAKE_LOCK`) and, within this instance, in the image turn.
        """
        fingerprinted = any(fp is not None for _, fp in prepared)
        work = partial(self._write, submission, fields, prepared, fingerprinted)
        if not fingerprinted:
            return await self.writer.run(work)
        async with self._image_turn:
            return await self.writer.run(work, alone=True)

    def _write(
        self,
        submission: Submission,
        fields: dict[str, Any],
        prepared: Sequence[Prepared],
        fingerprinted: bool,
        session: Session,
    ) -> Receipt:
        """The report's transaction (`db.writer`): read the units, analyse, attach to a
        case, route and add every row. The writer commits. `fingerprinted`: a picture of
        the report is to be looked up among the stored ones.

        Rows nothing reads back in the transaction go in as plain INSERTs (`db.inserts`),
        not through the ORM's unit of work: it cost four times the rest of the report."""
        principal = submission.principal
        key = submission.idempotency_key
        connection = session.connection()
        if fingerprinted and connection.dialect.name == "postgresql":
            session.exec(select(func.pg_advisory_xact_lock(IMAGE_INTAKE_LOCK)))
        directory = _directory(session)
        analysis = self._analysed(listing_facts(fields), directory.rules)
        if key is not None:
            # A key older than the window is free again: release it from its old report.
            session.exec(
                update(Report)
                .where(
                    col(Report.idempotency_key_hash) == key.digest,
                    col(Report.created_at) < utcnow() - IDEMPOTENCY_WINDOW,
                )
                .values(idempotency_key_hash=None, idempotency_receipt=None)
            )
        hits: list[ImageHit] = []
        if fingerprinted:  # a text-only report has no picture to look up
            self.images.catch_up(session)
            hits = self.images.lookup([fp for _, fp in prepared], NEAREST_PER_PICTURE)
        case_id, earlier, listing_id, links = self._case_for(session, analysis, fields, hits)
        duplicate = earlier is not None
        if earlier is None:  # this report opened the case
            priority, case_reports = analysis.priority, 1
        else:
            analysis = self._judged_with_case(session, earlier, analysis, fields)
            _update_case(earlier, analysis, fields)
            _count_report(session, earlier)
            priority, case_reports = earlier.priority, earlier.report_count
        receipt_token = None if principal else new_secret()
        reference = new_reference()
        report_id = insert_row(
            connection,
            Report,
            {
                "reference": reference,
                "case_id": case_id,
                "listing_id": listing_id,
                "channel": fields.get("channel") or "api",
                "account_id": principal.account_id if principal else None,
                "receipt_hash": hash_secret(receipt_token) if receipt_token else None,
                "idempotency_key_hash": key.digest if key else None,
                "idempotency_receipt": (key.seal(receipt_token) if key and receipt_token else None),
                "duplicate": duplicate,
                "status": "routed",
                "submitted": {k: v for k, v in fields.items() if v is not None},
                **{k: _text(fields.get(k)) for k in _REPORT_TEXT_FIELDS},
            },
        )
        for position, (item, fp) in enumerate(prepared):
            evidence_id = insert_row(
                connection,
                Evidence,
                {
                    "report_id": report_id,
                    "kind": item.kind,
                    "sha256": item.sha256,
                    "original_sha256": item.original_sha256,
                    "media_type": item.media_type,
                    "size": item.size,
                    "width": item.width,
                    "height": item.height,
                    "filename": item.filename,
                },
            )
            if fp is None:
                continue
            insert_rows(connection, ImageHash, hash_rows(evidence_id, fp, self.images.hash_type))
            matches = [
                {
                    "evidence_id": evidence_id,
                    "matched_evidence_id": hit.evidence_id,
                    "algorithm": self.images.hash_type.name,
                    "distance": hit.distance,
                    "joined": joined,
                }
                for hit, joined in links
                if hit.image == position
            ]
            insert_rows(connection, ImageMatch, matches)
        self._record_analysis(session, directory, report_id, case_id, analysis, not duplicate)
        audit = {
            "actor": principal.actor if principal else "anonymous",
            "action": "report.received",
            "object_type": "report",
            "object_id": reference,
            "details": {
                "case_id": case_id,
                "duplicate": duplicate,
                "evidence": len(prepared),
                "routed_to": analysis.units,
            },
        }
        insert_rows(connection, AuditEvent, [audit])
        status_url = f"{self.settings.base_url}/status/{reference}"
        if receipt_token:
            status_url += f"#receipt={receipt_token}"
        return Receipt(
            reference=reference,
            status_url=status_url,
            species=[m.to_dict() for m in analysis.species],
            priority=priority,
            routed_to=analysis.units,
            case_id=case_id,
            duplicate=duplicate,
            case_reports=case_reports,
            receipt_token=receipt_token,
        )

    def _recently_told(self, session: Session, case_id: int, unit_code: str) -> bool:
        """Whether `unit_code`'s channels were given a notification of this case within
        `update_quiet_minutes`. A listing reported thousands of times (a campaign, a bot, a
        seller probing) stays one case whose count grows, and the unit hears of it at most
        once per quiet period instead of once per report: the notification, built when it
        is sent, carries the count as it is then. (With a unit's receiver down for hours,
        that is still one row per period, not one per report.)
        """
        since = utcnow() - timedelta(minutes=self.settings.update_quiet_minutes)
        recent = session.exec(
            select(Delivery.id)
            .where(
                Delivery.case_id == case_id,
                Delivery.unit_code == unit_code,
                Delivery.topic == "",
                Delivery.channel != "dashboard",
                col(Delivery.created_at) >= since,
            )
            .limit(1)
        )
        return recent.first() is not None

    def _case_for(
        self,
        session: Session,
        analysis: Analysis,
        fields: dict[str, Any],
        hits: Sequence[ImageHit],
    ) -> tuple[int, Case | None, int | None, list[tuple[ImageHit, bool]]]:
        """The id of the case this report belongs to, that case if it was there before
        the report, the listing's id (when it names a URL), and the near-duplicate images
        that decided it.

        The listing's case when its URL is known; else the case of the nearest stored
        near-duplicate image, if that case is already with every unit this report goes to
        (a matching picture links reports, it never carries one unit's case to another:
        across units the match is recorded as a link only); else a new case, written as
        this report makes it (a case no one else has seen yet needs no folding in).
        """
        url = analysis.url
        if url is not None:
            known = session.execute(_LISTING_BY_KEY, {"key": url.key}).first()
            if known is not None:
                listing_id, case_id = known
                case = session.get(Case, case_id)
                assert case is not None
                return case_id, case, listing_id, [(hit, False) for hit in hits]
        joined: Case | None = None
        links: list[tuple[ImageHit, bool]] = []
        linked: set[tuple[int, int | None]] = set()
        for hit in hits:
            case = _case_of_evidence(session, hit.evidence_id)
            link = (hit.image, case.id if case else None)
            if link in linked:
                continue  # a farther copy in a case this picture is already linked to
            linked.add(link)
            if joined is None and case is not None:
                units = set(case_units(session, _id(case)))
                if set(analysis.units) <= units:
                    joined = case
                    links.append((hit, True))
                    continue
            links.append((hit, joined is not None and case is not None and case.id == joined.id))
        case_id = _id(joined) if joined is not None else _open_case(session, analysis, fields)
        listing_id = None
        if url is not None:
            # A concurrent insert of the same key fails here; `submit` tries again.
            listing_id = insert_row(
                session.connection(),
                Listing,
                {
                    "url_key": url.key,
                    "url": url.url,
                    "host": url.host,
                    "platform": url.platform,
                    "case_id": case_id,
                },
            )
        return case_id, joined, listing_id, links

    def _judged_with_case(
        self, session: Session, case: Case, analysis: Analysis, fields: dict[str, Any]
    ) -> Analysis:
        """Re-weigh jurisdiction and routing with the signals and species of the case's
        earlier reports (the species for the units' taxa filters)."""
        latest = (
            session.exec(
                select(JurisdictionDecision)
                .where(JurisdictionDecision.case_id == case.id)
                .order_by(col(JurisdictionDecision.id).desc())
            )
        ).first()
        earlier = [Signal.from_dict(s) for s in latest.signals] if latest else []
        return joined_to_case(
            analysis,
            earlier,
            case.appendix,
            _directory(session).rules,
            _text(fields.get("reporter_country")),
            _case_species(session, _id(case)),
        )

    def _record_analysis(
        self,
        session: Session,
        directory: UnitDirectory,
        report_id: int,
        case_id: int,
        analysis: Analysis,
        new_case: bool = False,
    ) -> None:
        """The analysis, its species, the jurisdiction decision, the case's new units and
        their deliveries."""
        connection = session.connection()
        analysis_id = insert_row(
            connection,
            AnalysisRow,
            {
                "report_id": report_id,
                "lexicon_version": analysis.lexicon_version,
                "rules_version": analysis.rules_version,
                "flagged": analysis.flagged,
                "priority": analysis.priority,
                "appendix": analysis.appendix,
                "url_key": analysis.url.key if analysis.url else None,
            },
        )
        version = analysis.lexicon_version
        species = [
            SpeciesMatch.values_of(match, analysis_id=analysis_id, lexicon_version=version)
            for match in analysis.species
        ]
        insert_rows(connection, SpeciesMatch, species)
        decision = {
            "analysis_id": analysis_id,
            "case_id": case_id,
            "country": analysis.jurisdiction.country,
            "confidence": analysis.jurisdiction.confidence,
            "signals": [s.to_dict() for s in analysis.jurisdiction.signals],
            "routed_to": [{"unit": r.unit, "reason": r.reason} for r in analysis.routes],
            "rules_version": analysis.rules_version,
        }
        insert_rows(connection, JurisdictionDecision, [decision])
        routed: set[str] = set()
        if not new_case:  # a case opened by this report has no units yet
            routed = set(case_units(session, case_id))
        new_units: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        for route in analysis.routes:
            if route.unit not in routed:
                new_units.append(
                    {"case_id": case_id, "unit_code": route.unit, "reason": route.reason}
                )
            channels = directory.channels.get(route.unit)
            assert channels is not None, "routing returned a unit that is not in the directory"
            notify = route.unit not in routed or not self._recently_told(
                session, case_id, route.unit
            )
            deliveries += delivery_rows(route.unit, channels, case_id, report_id, channels=notify)
        insert_rows(connection, CaseUnit, new_units)
        insert_rows(connection, Delivery, deliveries)


#: The listing of a canonical URL key and its case, built once (see `db.inserts`).
_LISTING_BY_KEY = select(Listing.id, Listing.case_id).where(
    col(Listing.url_key) == bindparam("key")
)

_REPORT_TEXT_FIELDS = (
    "url",
    "title",
    "text",
    "price",
    "currency",
    "seller",
    "seller_location",
    "ships_to",
    "reporter_country",
    "notes",
)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _id(row: Any) -> int:
    if row.id is None:  # pragma: no cover - rows are flushed before their id is used
        raise RuntimeError(f"{type(row).__name__} has no id yet")
    return int(row.id)


def _directory(session: Session) -> UnitDirectory:
    """The units directory, read once per session: a writer's session is one transaction,
    which on SQLite holds a group of reports (intake never changes the directory)."""
    directory = session.info.get("unit_directory")
    if directory is None:
        directory = session.info["unit_directory"] = read_unit_directory(session)
    return directory


def _open_case(session: Session, analysis: Analysis, fields: dict[str, Any]) -> int:
    """A new case for this report, written at once with its count (no one else sees it
    before the commit); its id."""
    values = {
        "priority": analysis.priority,
        "priority_rank": analysis.priority_rank,
        "appendix": analysis.appendix,
        "country": analysis.jurisdiction.country,
        "title": _text(fields.get("title"))[:1000],
        "report_count": 1,
    }
    return insert_row(session.connection(), Case, values)


def _update_case(case: Case, analysis: Analysis, fields: dict[str, Any]) -> None:
    """Fold one more report into its case: the most urgent priority wins."""
    if analysis.priority_rank < case.priority_rank:
        case.priority, case.priority_rank = analysis.priority, analysis.priority_rank
        case.appendix = analysis.appendix
    if analysis.jurisdiction.country:  # weighed over all the case's reports so far
        case.country = analysis.jurisdiction.country
    if not case.title and fields.get("title"):
        case.title = _text(fields["title"])[:1000]
    case.updated_at = utcnow()


#: What `_update_case` changes, written by `_count_report` in the statement that counts.
_CASE_FOLDED = ("priority", "priority_rank", "appendix", "country", "title", "updated_at")


def _count_report(session: Session, case: Case) -> None:
    """One more report on a case that was there before it, counted in the database:
    concurrent reports of one listing each add one (a count read and written back here
    would lose all but the last of them). The row stays locked until the report commits,
    on PostgreSQL as on SQLite.

    One Core UPDATE counts and writes what `_update_case` changed (the ORM's bulk UPDATE
    and a second UPDATE of the same row at the flush cost more than the rest of the
    report's statements together).
    """
    table = Case.__table__  # type: ignore[attr-defined]
    values = {name: getattr(case, name) for name in _CASE_FOLDED}
    connection = session.connection()
    count = (
        connection.execute(
            update(table)
            .where(table.c.id == case.id)
            .values(report_count=table.c.report_count + 1, **values)
            .returning(table.c.report_count)
        )
    ).scalar_one()
    for name, value in values.items():
        set_committed_value(case, name, value)
    set_committed_value(case, "report_count", count)


def _case_species(session: Session, case_id: int) -> list[Taxon]:
    """The taxa the case's earlier reports named surely enough to set a priority, each once:
    what a unit's taxa filter judges the case by, as `matching.analysis.routing_species`."""
    rows = (
        session.exec(
            select(SpeciesMatch)
            .join(AnalysisRow, col(AnalysisRow.id) == SpeciesMatch.analysis_id)
            .join(Report, col(Report.id) == AnalysisRow.report_id)
            .where(Report.case_id == case_id, SpeciesMatch.confidence >= PRIORITY_CONFIDENCE)
            .order_by(col(SpeciesMatch.id))
        )
    ).all()
    taxa = (Taxon(row.taxon, row.rank, row.family, row.order_name, row.class_name) for row in rows)
    return list(dict.fromkeys(taxa))


def _case_of_evidence(session: Session, evidence_id: int) -> Case | None:
    """The case an evidence file is in now, following merges."""
    case_id = (
        session.exec(
            select(Report.case_id)
            .join(Evidence, col(Evidence.report_id) == Report.id)
            .where(Evidence.id == evidence_id)
        )
    ).first()
    return followed_case(session, case_id)
