"""The `wildflag` command: serve, analyse listings, import species data, manage the rest."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from aiohttp import web
from sqlalchemy.engine import make_url
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.bootstrap import prepare
from db.engine import create_engine, is_sqlite, session_factory
from db.models import Account, AuditEvent, TelegramLink, Unit
from db.units import seed_unit_rules, unit_rules
from extension_backend import export_cli
from extension_backend.accounts import AccountError, create_account, generated_password
from extension_backend.app import create_app
from extension_backend.auth import ROLES, create_token
from extension_backend.delivery.channels import CONFIGURABLE_TYPES
from extension_backend.errors import ApiError
from extension_backend.evidence import is_image
from extension_backend.images import group_images
from extension_backend.intake import listing_facts
from extension_backend.requests import validate
from extension_backend.schemas import build_schemas
from extension_backend.settings import Settings
from extension_backend.species_store import (
    SpeciesImportError,
    import_file,
    load_matcher,
    load_place_index,
)
from extension_backend.species_store import status as species_status
from extension_backend.telegram_links import LinkError, issue_code
from extension_backend.unit_directory import (
    UnitChangeError,
    appendices_arg,
    apply_unit_changes,
    channel_problem,
    channel_target_problem,
    countries_arg,
    taxa_arg,
    unit_code_arg,
)
from extension_backend.web_auth import (
    PEOPLE,
    PasswordError,
    end_sessions,
    hash_password,
    normalise_email,
)
from matching.analysis import analyze
from matching.routing import UnitRule
from matching.urls import InvalidURL

#: Request line, status, size and time; no client address, so that the logs of a service
#: that promises reporters anonymity cannot be used to identify them.
ACCESS_LOG_FORMAT = '"%r" %s %b %Tfs'


def _settings() -> Settings:
    return Settings()


def cmd_serve(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings(**overrides)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger(__name__).info(
        "data dir %s, database %s",
        settings.data_dir,
        make_url(settings.effective_database_url).render_as_string(hide_password=True),
    )
    app = create_app(settings)
    if os.environ.get("WILDFLAG_TELEGRAM_WEBHOOK_SECRET", "").strip():
        error = _mount_telegram_bot(app, settings)
        if error:
            print(f"wildflag: {error}", file=sys.stderr)
            return 2
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=print,
        access_log_format=ACCESS_LOG_FORMAT,
    )
    return 0


def _mount_telegram_bot(app: web.Application, settings: Settings) -> str | None:
    """Webhook mode: the bot's update route and lifecycle on `app`; an error message or None.

    Besides `cmd_bot`, this is the one other place the backend's CLI reaches the bot, and
    likewise imported lazily: the service loads python-telegram-bot only when the operator
    asked for the webhook (WILDFLAG_TELEGRAM_WEBHOOK_SECRET). `create_app` stays bot-free.
    """
    from bot.config import BotConfig, ConfigError
    from bot.webhook import mount

    try:
        config = BotConfig.from_env()
        if not os.environ.get("WILDFLAG_API_URL", "").strip():
            # The bot is a client of this very process: default to it, not to port 8080.
            wildcard = settings.host in {"", "0.0.0.0", "::"}  # noqa: S104 (a comparison)
            host = "127.0.0.1" if wildcard else settings.host
            host = f"[{host}]" if ":" in host else host
            config = dataclasses.replace(config, api_url=f"http://{host}:{settings.port}")
        if config.public_url is None and settings.public_url:
            # The same public URL the receipts use, also when it came from the TOML file.
            config = dataclasses.replace(config, public_url=settings.public_url.rstrip("/"))
        mount(app, config)
    except ConfigError as exc:
        return str(exc)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request log holds the token
    return None


def cmd_bot(args: argparse.Namespace) -> int:
    # The one place the backend's CLI reaches the bot (with `_mount_telegram_bot` for
    # webhook mode), imported here so that the service never loads python-telegram-bot.
    # The bot talks to the backend only over HTTP (WILDFLAG_API_URL) and reads its own
    # WILDFLAG_* variables.
    from bot.app import run_polling
    from bot.config import BotConfig, ConfigError

    try:
        config = BotConfig.from_env()
    except ConfigError as exc:
        print(f"wildflag: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every poll (and the token)
    run_polling(config)
    return 0


def _units_for_analysis(settings: Settings) -> list[UnitRule]:
    """The units directory of this deployment, or the shipped one before first start."""
    url = settings.effective_database_url
    if is_sqlite(url):
        database = make_url(url).database
        if not database or not Path(database).exists():
            return seed_unit_rules()
    return asyncio.run(_stored_unit_rules(url))


async def _stored_unit_rules(url: str) -> list[UnitRule]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return await unit_rules(session)
    finally:
        await engine.dispose()


#: `json.dumps(..., ensure_ascii=False)` builds a new encoder for every call; one encoder
#: with the same options writes the same bytes. No check for circular references: an
#: answer is made of fresh dicts and lists, and the check cost a lookup per container.
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, check_circular=False)


def analyze_lines(lines: TextIO, out: TextIO, settings: Settings, units: Sequence[UnitRule]) -> int:
    """Analyse JSON Lines listings; one JSON line out per line in. Returns the failures."""
    model = build_schemas(settings).analyze
    matcher = load_matcher(settings)
    encode = _LINE_ENCODER.encode
    failures = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        result: dict[str, Any]
        try:
            data = json.loads(line)
            listing = validate(model, data)
            # The validated values themselves: `model_dump` would copy them one by one, and
            # every field of the analyze model is a plain str, int, list of str or None.
            fields = vars(listing)
            analysis = analyze(listing_facts(fields), units, matcher)
            result = {"id": fields.get("id"), **analysis.to_dict()}
        except json.JSONDecodeError as exc:
            result = _line_error(None, "malformed_json", f"line {number}: {exc}")
        except ApiError as exc:
            result = _line_error(_given_id(data), exc.code, exc.message, exc.field)
        except InvalidURL as exc:
            result = _line_error(_given_id(data), "invalid_url", str(exc), "url")
        if "error" in result:
            failures += 1
        out.write(encode(result) + "\n")
    out.flush()
    return failures


def _given_id(data: Any) -> Any:
    """The id a line gave, echoed in its error; None for a line that is no JSON object
    (`[1]`, `"text"`, `NaN`), which gives none."""
    return data.get("id") if isinstance(data, dict) else None


def _line_error(ident: Any, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"id": ident, "error": error}


def cmd_analyze(args: argparse.Namespace) -> int:
    settings = _settings()
    units = _units_for_analysis(settings)
    load_place_index(settings)  # a fresh process: the cached index, not a second's build
    failures = analyze_lines(sys.stdin, sys.stdout, settings, units)
    return 1 if failures else 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        engine = create_engine(settings.effective_database_url)
        try:
            await prepare(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database is at the newest schema", file=sys.stderr)
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    settings = _settings()

    async def run() -> str:
        engine = create_engine(settings.effective_database_url)
        try:
            await prepare(engine)
            async with session_factory(engine)() as session:
                _, token = await create_token(
                    session, role=args.role, unit_code=args.unit, name=args.name or ""
                )
            return token
        finally:
            await engine.dispose()

    try:
        token = asyncio.run(run())
    except ValueError as exc:
        print(f"wildflag: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_accounts_list(args: argparse.Namespace) -> int:
    settings = _settings()

    async def run() -> list[tuple[Account, bool]]:
        engine = create_engine(settings.effective_database_url)
        try:
            await prepare(engine)
            async with session_factory(engine)() as session:
                linked = set((await session.exec(select(TelegramLink.account_id))).all())
                accounts = (await session.exec(select(Account).order_by(Account.id))).all()
                return [(a, a.id in linked) for a in accounts]
        finally:
            await engine.dispose()

    for account, linked in asyncio.run(run()):
        row = {
            "id": account.id,
            "role": account.role,
            "unit": account.unit_code,
            "name": account.name,
            "email": account.email,
            "disabled": account.disabled,
            "telegram_linked": linked,
        }
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            flags = " (disabled)" * account.disabled + " [telegram]" * linked
            print(
                f"{account.id}\t{account.role}\t{account.unit_code or '-'}\t"
                f"{account.email or '-'}\t{account.name}{flags}"
            )
    return 0


def _password_arg(args: argparse.Namespace) -> tuple[str, bool]:
    """The password from stdin (`--password-stdin`, one line), else a generated one."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return generated_password(), True


def cmd_accounts_create(args: argparse.Namespace) -> int:
    """A person's dashboard account; prints its id, and the password when it was generated."""
    settings = _settings()
    password, generated = _password_arg(args)

    async def create(session: AsyncSession) -> Account:
        account = await create_account(
            session,
            email=args.email,
            role=args.role,
            unit_code=args.unit,
            name=args.name or "",
            password=password,
        )
        session.add(
            AuditEvent(
                actor="cli",
                action="account.created",
                object_type="account",
                object_id=str(account.id),
                details={"role": account.role, "unit": account.unit_code},
            )
        )
        await session.commit()
        return account

    try:
        account = asyncio.run(_in_units_session(settings, create))
    except AccountError as exc:
        print(f"wildflag: {exc}", file=sys.stderr)
        return 2
    print(f"account {account.id}: {account.email}, {account.role}", file=sys.stderr)
    if generated:
        print(password)
        print("the password is shown once; sign in at /login and change it", file=sys.stderr)
    return 0


def cmd_accounts_set_password(args: argparse.Namespace) -> int:
    """A new password for an account (its sessions end); generated unless --password-stdin."""
    settings = _settings()
    password, generated = _password_arg(args)

    async def change(session: AsyncSession) -> None:
        email = normalise_email(args.email)
        account = (await session.exec(select(Account).where(Account.email == email))).first()
        if account is None:
            raise AccountError(f"no account with e-mail {email}")
        try:
            account.password_hash = hash_password(password)
        except PasswordError as exc:
            raise AccountError(str(exc)) from None
        if args.reset_totp:
            account.totp_secret = None
        session.add(account)
        await end_sessions(session, account)
        session.add(
            AuditEvent(
                actor="cli",
                action="account.password_set",
                object_type="account",
                object_id=str(account.id),
                details={"totp_reset": bool(args.reset_totp)},
            )
        )
        await session.commit()

    try:
        asyncio.run(_in_units_session(settings, change))
    except AccountError as exc:
        print(f"wildflag: {exc}", file=sys.stderr)
        return 2
    if generated:
        print(password)
    return 0


def cmd_accounts_link_code(args: argparse.Namespace) -> int:
    """A one-time Telegram link code for an account: the officer sends /link CODE to the bot."""
    settings = _settings()

    async def run() -> tuple[str, str]:
        engine = create_engine(settings.effective_database_url)
        try:
            await prepare(engine)
            async with session_factory(engine)() as session:
                account = await session.get(Account, args.account_id)
                if account is None:
                    raise LinkError(f"no account {args.account_id}")
                code, expires_at = await issue_code(session, account, issued_by=None)
                session.add(
                    AuditEvent(
                        actor="cli",
                        action="telegram.link_code_issued",
                        object_type="account",
                        object_id=str(account.id),
                        details={"expires_at": expires_at.isoformat()},
                    )
                )
                await session.commit()
                return code, expires_at.isoformat()
        finally:
            await engine.dispose()

    try:
        code, expires_at = asyncio.run(run())
    except LinkError as exc:
        print(f"wildflag: {exc}", file=sys.stderr)
        return 2
    print(code)
    print(f"single use, expires {expires_at}: send /link {code} to the bot", file=sys.stderr)
    return 0


def cmd_units_list(args: argparse.Namespace) -> int:
    settings = _settings()

    async def run() -> list[Unit]:
        engine = create_engine(settings.effective_database_url)
        try:
            await prepare(engine)
            async with session_factory(engine)() as session:
                return list((await session.exec(select(Unit).order_by(Unit.code))).all())
        finally:
            await engine.dispose()

    for unit in asyncio.run(run()):
        if args.json:
            print(json.dumps(unit.model_dump(mode="json"), ensure_ascii=False))
        else:
            line = f"{unit.code}\t{unit.kind}\t{' '.join(unit.countries)}\t{unit.name}"
            filters = _unit_filters(unit)
            print(f"{line}\t{filters}" if filters else line)  # unfiltered lines as before
    return 0


def _unit_filters(unit: Unit) -> str:
    """What narrows or widens a unit's cases, in one line: "appendices I II; taxa Orchidaceae"."""
    parts = []
    if unit.appendices:
        parts.append(f"appendices {' '.join(unit.appendices)}")
    if unit.taxa:
        parts.append(f"taxa {', '.join(unit.taxa)}")
    if unit.reporter_cases:
        parts.append("reporter cases")
    if not unit.active:
        parts.append("inactive")
    return "; ".join(parts)


T = TypeVar("T")


#: A unit code as the directory writes them: "GB", "COORD", "FR-REVIEW".
async def _in_units_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = create_engine(settings.effective_database_url)
    try:
        await prepare(engine)
        async with session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def _audit_unit(action: str, code: str, details: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        actor="cli", action=action, object_type="unit", object_id=code, details=details
    )


def _unit_command(run: Callable[[], T]) -> T | None:
    """Run a units command; a refused change is printed on stderr and yields None."""
    try:
        return run()
    except UnitChangeError as exc:
        print(f"wildflag: {exc}", file=sys.stderr)
        return None


def cmd_units_add(args: argparse.Namespace) -> int:
    def values() -> dict[str, Any]:
        code = unit_code_arg(args.code)
        countries = countries_arg(args.countries or "")
        if args.kind == "national" and not countries:
            raise UnitChangeError("a national unit needs --countries, e.g. --countries 'GB GG'")
        name = (args.name or "").strip()
        if not name:
            raise UnitChangeError("--name must not be empty")
        return {
            "code": code,
            "name": name,
            "kind": args.kind,
            "countries": countries,
            "appendices": appendices_arg(args.appendices or ""),
            "taxa": taxa_arg(args.taxa or ""),
            "reporter_cases": bool(args.reporter_cases),
        }

    async def add(session: AsyncSession) -> Unit:
        fields = values()
        if await session.get(Unit, fields["code"]) is not None:
            raise UnitChangeError(
                f"unit {fields['code']} already exists (change it with `wildflag units edit`)"
            )
        unit = Unit(**fields)
        session.add(unit)
        details = {k: v for k, v in fields.items() if k != "code"}
        session.add(_audit_unit("unit.created", unit.code, details))
        await session.commit()
        return unit

    unit = _unit_command(lambda: asyncio.run(_in_units_session(_settings(), add)))
    if unit is None:
        return 2
    print(f"unit {unit.code} added", file=sys.stderr)
    return 0


def cmd_units_edit(args: argparse.Namespace) -> int:
    def wanted() -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if args.name is not None:
            if not args.name.strip():
                raise UnitChangeError("--name must not be empty")
            changes["name"] = args.name.strip()
        if args.kind is not None:
            changes["kind"] = args.kind
        if args.countries is not None:
            changes["countries"] = countries_arg(args.countries)
        if args.appendices is not None:
            changes["appendices"] = appendices_arg(args.appendices)
        if args.taxa is not None:
            changes["taxa"] = taxa_arg(args.taxa)
        if args.reporter_cases is not None:
            changes["reporter_cases"] = args.reporter_cases
        if args.active is not None:
            changes["active"] = args.active
        if not changes:
            raise UnitChangeError(
                "nothing to change: give --name, --kind, --countries, --appendices, --taxa, "
                "--(no-)reporter-cases or --active/--inactive"
            )
        return changes

    async def edit(session: AsyncSession) -> dict[str, dict[str, Any]]:
        changes = wanted()
        code = args.code.strip().upper()
        unit = await session.get(Unit, code)
        if unit is None:
            raise UnitChangeError(f"no unit {code!r} (see `wildflag units list`)")
        done = apply_unit_changes(unit, changes)
        if done:
            session.add(unit)
            session.add(_audit_unit("unit.updated", unit.code, {"changes": done}))
            await session.commit()
        return done

    done = _unit_command(lambda: asyncio.run(_in_units_session(_settings(), edit)))
    if done is None:
        return 2
    code = args.code.strip().upper()
    if not done:
        print(f"unit {code}: unchanged", file=sys.stderr)
    for field, change in done.items():
        was, now = _shown(change["from"]), _shown(change["to"])
        print(f"unit {code}: {field} {was} → {now}", file=sys.stderr)
    return 0


def _shown(value: Any) -> str:
    """A field's value for a person: lists by blanks, or commas when a name has a blank."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        items = [str(v) for v in value]
        return (", " if any(" " in v for v in items) else " ").join(items) or "(none)"
    return str(value)


def cmd_units_show(args: argparse.Namespace) -> int:
    async def show(session: AsyncSession) -> Unit:
        code = args.code.strip().upper()
        unit = await session.get(Unit, code)
        if unit is None:
            raise UnitChangeError(f"no unit {code!r} (see `wildflag units list`)")
        return unit

    unit = _unit_command(lambda: asyncio.run(_in_units_session(_settings(), show)))
    if unit is None:
        return 2
    if args.json:
        print(json.dumps(unit.model_dump(mode="json"), ensure_ascii=False))
        return 0
    channels = ", ".join(
        f"{index} {c.get('type', '')} {c.get('target', '')}"
        for index, c in enumerate(unit.channels)
    )
    print(f"code: {unit.code}")
    print(f"name: {unit.name}")
    print(f"kind: {unit.kind}")
    print(f"countries: {' '.join(unit.countries) or '(none)'}")
    print(f"appendices: {' '.join(unit.appendices) or '(every case)'}")
    print(f"taxa: {', '.join(unit.taxa) or '(every case)'}")
    print(f"reporter cases: {_shown(unit.reporter_cases)}")
    print(f"active: {_shown(unit.active)}")
    print(f"channels: {channels or '(dashboard only)'}")
    return 0


async def _edit_unit_channels(
    settings: Settings, code: str, edit: Any, audit: tuple[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Apply `edit(unit) -> new channels` to a unit, save it with the audit row
    `audit` (action, details); returns the new list."""
    engine = create_engine(settings.effective_database_url)
    try:
        await prepare(engine)
        async with session_factory(engine)() as session:
            unit = await session.get(Unit, code.upper())
            if unit is None:
                raise ValueError(f"no unit {code!r} (see `wildflag units list`)")
            channels = edit(unit)
            if channels is not None:
                unit.channels = channels  # a new list: in-place edits of JSON are not saved
                session.add(unit)
                action, details = audit
                session.add(_audit_unit(action, unit.code, {"unit": unit.code, **details}))
                await session.commit()
            return list(unit.channels)
    finally:
        await engine.dispose()


def _run_channel_edit(
    code: str, edit: Any, audit: tuple[str, dict[str, Any]]
) -> list[dict[str, Any]] | None:
    try:
        return asyncio.run(_edit_unit_channels(_settings(), code, edit, audit))
    except ValueError as exc:
        print(f"wildflag: {exc}", file=sys.stderr)
        return None


def cmd_units_channel_add(args: argparse.Namespace) -> int:
    generated = args.secret is None and args.type == "webhook"
    secret = secrets.token_urlsafe(32) if generated else (args.secret or "")
    # The delivery guard's rule, checked now rather than at the first send.
    allowed = _settings().delivery_allow_private_networks
    problem = channel_target_problem(args.type, args.target, allowed)
    if problem:
        print(f"wildflag: {problem}", file=sys.stderr)
        return 2
    entry: dict[str, Any] = {"type": args.type, "target": args.target}
    if secret:
        entry["secret"] = secret

    def add(unit: Unit) -> list[dict[str, Any]]:
        if problem := channel_problem(unit, args.type, args.target, allowed):
            raise ValueError(problem)
        return [*unit.channels, entry]

    details = {"type": args.type, "target": args.target, "secret": bool(secret)}
    channels = _run_channel_edit(args.code, add, ("channel.added", details))
    if channels is None:
        return 2
    print(
        f"unit {args.code.upper()}: channel {len(channels) - 1} {args.type} {args.target} added",
        file=sys.stderr,
    )
    if generated:
        print(secret)  # shown once here; `units channel list --json` also shows it
    return 0


def cmd_units_channel_list(args: argparse.Namespace) -> int:
    channels = _run_channel_edit(args.code, lambda unit: None, ("", {}))
    if channels is None:
        return 2
    for index, channel in enumerate(channels):
        if args.json:
            print(json.dumps({"index": index, **channel}, ensure_ascii=False))
        else:
            secret = "secret set" if channel.get("secret") else "no secret"
            print(f"{index}\t{channel.get('type', '')}\t{channel.get('target', '')}\t{secret}")
    return 0


def cmd_units_channel_remove(args: argparse.Namespace) -> int:
    removed: dict[str, Any] = {}

    def remove(unit: Unit) -> list[dict[str, Any]]:
        channels = list(unit.channels)
        if not 0 <= args.index < len(channels):
            raise ValueError(f"unit {args.code.upper()} has no channel {args.index}")
        gone = channels[args.index]
        removed.update(type=gone.get("type"), target=gone.get("target"), index=args.index)
        return [c for i, c in enumerate(channels) if i != args.index]

    if _run_channel_edit(args.code, remove, ("channel.removed", removed)) is None:
        return 2
    print(f"unit {args.code.upper()}: channel {args.index} removed", file=sys.stderr)
    return 0


RANK_PLURALS = {
    "species": "species",
    "subspecies": "subspecies",
    "variety": "varieties",
    "genus": "genera",
    "subfamily": "subfamilies",
    "family": "families",
    "order": "orders",
    "class": "classes",
}


class ProgressBar:
    """One self-rewriting line on a terminal stream: "reading  42% [########-----------]".

    Called as a `species_store.Progress`; `close()` ends the line.
    """

    WIDTH = 30

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.stage = ""
        self.started = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage and self.stage:
            self.stream.write("\n")
        self.stage = stage
        elapsed = time.monotonic() - self.started
        if total:
            filled = self.WIDTH * done // total
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            line = f"{self.label}: {stage} {100 * done // total:3d}% [{bar}] {done / 1e6:.1f}/"
            line += f"{total / 1e6:.1f} MB {elapsed:.0f}s"
        else:
            line = f"{self.label}: {stage}… ({elapsed:.0f}s)"
        self.stream.write("\r" + line)
        self.stream.flush()

    def close(self) -> None:
        if self.stage:
            self.stream.write("\n")
            self.stream.flush()


def cmd_species_import(args: argparse.Namespace) -> int:
    settings = _settings()
    path = Path(args.file)
    bar = ProgressBar(sys.stderr, path.name) if args.progress or sys.stderr.isatty() else None
    try:
        report = import_file(settings, path, progress=bar)
    except FileNotFoundError:
        print(f"wildflag: no such file: {path}", file=sys.stderr)
        return 2
    except SpeciesImportError as exc:
        print(f"wildflag: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar:
            bar.close()
    counts = report.counts
    print(
        f"imported {report.kind.replace('_', ' ')} {report.source_file} "
        f"(sha256 {report.sha256[:16]}…) in {report.seconds:.1f} s"
    )
    if report.kind == "checklist":
        ranks = ", ".join(
            f"{value:,} {RANK_PLURALS.get(key.removeprefix('rank_'), key.removeprefix('rank_'))}"
            for key, value in sorted(counts.items(), key=lambda item: -item[1])
            if key.startswith("rank_")
        )
        print(
            f"  {counts.get('rows', 0):,} rows: {counts.get('taxa', 0):,} listed taxa ({ranks}), "
            f"{counts.get('not_listed', 0):,} not listed, {counts.get('unreadable', 0):,} "
            f"unreadable; {counts.get('synonyms', 0):,} synonyms, {counts.get('names', 0):,} names"
        )
    else:
        print(
            f"  {counts.get('rows', 0):,} rows: {counts.get('names', 0):,} names of "
            f"{counts.get('taxa', 0):,} taxa, {counts.get('unreadable', 0):,} unreadable"
        )
    if report.combined:
        combined = report.combined
        print(
            f"  common names joined: {combined.get('names_joined', 0):,} names of "
            f"{combined.get('taxa_joined', 0):,} taxa; skipped (taxon not listed in the "
            f"checklist): {combined.get('names_skipped', 0):,} names of "
            f"{combined.get('taxa_skipped', 0):,} taxa"
        )
    if report.version:
        merge = report.merge
        rejected = sum(v for k, v in merge.items() if k.startswith("rejected_"))
        print(
            f"  matcher {report.version}: {merge.get('imported_taxa', 0):,} imported taxa, "
            f"{merge.get('imported_terms', 0):,} terms; {rejected:,} terms held back by the "
            f"precision guard; {merge.get('listing_replaced', 0):,} curated listings replaced"
        )
        for change in report.replaced:
            print(f"    curated listing replaced by the import: {change}")
    else:
        print("  no checklist imported yet: the common names join its taxa once it is")
    return 0


def cmd_species_status(args: argparse.Namespace) -> int:
    info = species_status(_settings())
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    print(f"matcher in force: {info['version']}")
    print(f"curated lexicon: {info['curated_version']} ({info['curated_taxa']} taxa)")
    sources = info.get("sources") or {}
    if not sources:
        print(f"nothing imported (species data dir: {info['data_dir']})")
        return 0
    for kind, source in sources.items():
        print(
            f"{kind.replace('_', ' ')}: {source['source_file']} sha256 {source['sha256']} "
            f"imported {source['imported_at']}"
        )
    imported = info.get("imported")
    if imported:
        merge = info.get("merge", {}).get("counts", {})
        print(
            f"imported taxa: {merge.get('imported_taxa', 0):,} with "
            f"{merge.get('imported_terms', 0):,} terms; cache "
            f"{'current' if info.get('cache_current') else 'stale (rebuilt on next load)'}"
        )
        for key, value in merge.items():
            if key.startswith("rejected_"):
                print(f"  precision guard, {key.removeprefix('rejected_')}: {value:,}")
    return 0


def cmd_dedupe(args: argparse.Namespace) -> int:
    root = Path(args.directory)
    if not root.is_dir():
        print(f"wildflag: {root} is not a directory", file=sys.stderr)
        return 2
    names: list[str] = []
    images: list[bytes] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if not is_image(data):
            print(f"wildflag: skipped {path.relative_to(root)}: not an image", file=sys.stderr)
            continue
        names.append(path.relative_to(root).as_posix())
        images.append(data)
    for name, group in zip(names, group_images(images), strict=True):
        print(json.dumps({"file": name, "group": group}, ensure_ascii=False))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="wildflag", description="Report suspicious online offers of wildlife."
    )
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API, status pages and dashboard")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    bot_cmd = sub.add_parser(
        "bot", help="the Telegram bot in polling mode, talking to the backend at WILDFLAG_API_URL"
    )
    bot_cmd.set_defaults(func=cmd_bot)

    analyze_cmd = sub.add_parser(
        "analyze", help="JSON Lines listings on stdin → one analysis per line on stdout"
    )
    analyze_cmd.set_defaults(func=cmd_analyze)

    database = sub.add_parser("db", help="database maintenance")
    db_sub = database.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_sub.add_parser("upgrade", help="migrate to the newest schema and seed")
    db_upgrade.set_defaults(func=cmd_db_upgrade)

    tokens = sub.add_parser("tokens", help="bearer tokens for officers, units and clients")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    create = tokens_sub.add_parser("create", help="create a token; prints it once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--unit", help="unit code the token acts for, e.g. FR")
    create.add_argument("--name", help="who or what holds the token")
    create.set_defaults(func=cmd_tokens_create)

    accounts = sub.add_parser("accounts", help="people's dashboard accounts, tokens' accounts")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    acc_create = accounts_sub.add_parser(
        "create", help="a person's dashboard account; prints a generated password once"
    )
    acc_create.add_argument("--email", required=True)
    acc_create.add_argument("--role", required=True, choices=sorted(PEOPLE))
    acc_create.add_argument("--unit", help="unit code (officer, unit_admin, observer)")
    acc_create.add_argument("--name", help="the name shown to colleagues")
    acc_create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    acc_create.set_defaults(func=cmd_accounts_create)
    acc_password = accounts_sub.add_parser(
        "set-password", help="a new password (ends the account's sessions)"
    )
    acc_password.add_argument("--email", required=True)
    acc_password.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    acc_password.add_argument(
        "--reset-totp", action="store_true", help="also remove the authenticator app"
    )
    acc_password.set_defaults(func=cmd_accounts_set_password)
    accounts_list = accounts_sub.add_parser("list", help="every account, with its id")
    accounts_list.add_argument("--json", action="store_true", help="one JSON object per line")
    accounts_list.set_defaults(func=cmd_accounts_list)
    link_code = accounts_sub.add_parser(
        "link-code",
        help="a one-time code (15 min) with which the account's officer links Telegram "
        "(/link CODE to the bot); prints the code alone on stdout",
    )
    link_code.add_argument("account_id", metavar="ACCOUNT_ID", type=int)
    link_code.set_defaults(func=cmd_accounts_link_code)

    species = sub.add_parser("species", help="the species lexicon: import the CITES checklist")
    species_sub = species.add_subparsers(dest="species_command", required=True)
    species_import = species_sub.add_parser(
        "import",
        help="import a checklist.cites.org / Species+ CSV export or a common-names CSV "
        "(gzip or plain); replaces the previous import of the same kind",
    )
    species_import.add_argument("file", help="the CSV or CSV.gz file")
    species_import.add_argument(
        "--progress", action="store_true", help="show a progress bar even when not on a terminal"
    )
    species_import.set_defaults(func=cmd_species_import)
    species_status_cmd = species_sub.add_parser("status", help="what is imported, which lexicon")
    species_status_cmd.add_argument("--json", action="store_true", help="as one JSON document")
    species_status_cmd.set_defaults(func=cmd_species_status)

    dedupe = sub.add_parser(
        "dedupe", help="group the images under DIR that intake would treat as one picture"
    )
    dedupe.add_argument("directory", metavar="DIR")
    dedupe.set_defaults(func=cmd_dedupe)

    units = sub.add_parser("units", help="the directory of national units")
    units_sub = units.add_subparsers(dest="units_command", required=True)
    units_list = units_sub.add_parser("list", help="list units")
    units_list.add_argument("--json", action="store_true", help="one JSON object per line")
    units_list.set_defaults(func=cmd_units_list)
    units_add = units_sub.add_parser("add", help="add a unit to the directory")
    units_add.add_argument("code", metavar="CODE", help="unit code, e.g. GB or FR-REVIEW")
    units_add.add_argument("--name", required=True)
    units_add.add_argument("--kind", choices=("national", "coordinating"), default="national")
    units_add.add_argument("--countries", help='ISO-2 codes it covers, e.g. "GB GG JE IM"')
    units_add.add_argument(
        "--appendices", help='only cases whose highest appendix is one of these: "I II", "review"'
    )
    units_add.add_argument(
        "--taxa",
        help='only cases with a species under one of these taxa (any rank): "Orchidaceae '
        'Dalbergia", "Plantae"; separate with commas to name a binomial',
    )
    units_add.add_argument(
        "--reporter-cases",
        action="store_true",
        help="also receive cases reported by someone in one of its countries",
    )
    units_add.set_defaults(func=cmd_units_add)
    units_edit = units_sub.add_parser(
        "edit", help='change a unit; an empty value ("") clears a filter'
    )
    units_edit.add_argument("code", metavar="CODE")
    units_edit.add_argument("--name")
    units_edit.add_argument("--kind", choices=("national", "coordinating"))
    units_edit.add_argument("--countries", help="replaces the list")
    units_edit.add_argument("--appendices", help='replaces the filter; "" takes every case')
    units_edit.add_argument("--taxa", help='replaces the filter; "" takes every case')
    units_edit.add_argument(
        "--reporter-cases",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="receive (or stop receiving) cases reported from its countries",
    )
    active = units_edit.add_mutually_exclusive_group()
    active.add_argument("--active", dest="active", action="store_const", const=True)
    active.add_argument(
        "--inactive",
        dest="active",
        action="store_const",
        const=False,
        help="routes nothing to the unit until made active again",
    )
    units_edit.set_defaults(func=cmd_units_edit, active=None)
    units_show = units_sub.add_parser("show", help="one unit with its filters and channels")
    units_show.add_argument("code", metavar="CODE")
    units_show.add_argument("--json", action="store_true", help="as one JSON object")
    units_show.set_defaults(func=cmd_units_show)
    channel = units_sub.add_parser("channel", help="where a unit's cases are delivered")
    channel_sub = channel.add_subparsers(dest="channel_command", required=True)
    channel_add = channel_sub.add_parser(
        "add", help="add a channel; prints the generated webhook secret when --secret is omitted"
    )
    channel_add.add_argument("code", metavar="CODE", help="unit code, e.g. FR")
    channel_add.add_argument("--type", required=True, choices=CONFIGURABLE_TYPES)
    channel_add.add_argument("--target", required=True, help="webhook URL (or address)")
    channel_add.add_argument("--secret", help="webhook signing secret (default: generated)")
    channel_add.set_defaults(func=cmd_units_channel_add)
    channel_list = channel_sub.add_parser("list", help="a unit's channels, by index")
    channel_list.add_argument("code", metavar="CODE")
    channel_list.add_argument("--json", action="store_true", help="one JSON object per line")
    channel_list.set_defaults(func=cmd_units_channel_list)
    channel_remove = channel_sub.add_parser("remove", help="remove a channel by its index")
    channel_remove.add_argument("code", metavar="CODE")
    channel_remove.add_argument("index", metavar="INDEX", type=int)
    channel_remove.set_defaults(func=cmd_units_channel_remove)
    export_cli.register(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
