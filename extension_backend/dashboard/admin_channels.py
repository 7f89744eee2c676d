"""Unit administration, channels: where a unit's cases are delivered besides the dashboard.

The same types and checks as `wildflag units channel add` (`unit_directory.channel_problem`,
one channel per type because the outbox keeps one row per report, unit and type), plus the
delivery guard's verdict on a webhook's address (`address_guard`: no loopback, private or
metadata addresses, also after resolving the name, unless the operator allows the
network), so an admin learns it here rather than from a failed delivery. A webhook
gets a signing secret, generated unless one is given; it is shown once here. The secret
stays in the unit's row because signing needs it, but no page shows it again.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from extension_backend import keys
from extension_backend.dashboard.admin import (
    audit,
    form_values,
    id_of,
    managed_unit,
    sentence,
    shown_once,
    unit_page,
)
from extension_backend.dashboard.web import ADMINS, PageError, page, redirect
from extension_backend.delivery.address_guard import resolved_problem
from extension_backend.unit_directory import channel_problem
from extension_backend.web_auth import SignedIn

routes = web.RouteTableDef()


@routes.post("/app/admin/units/{code}/channels")
@page(roles=ADMINS)
async def add_channel(request: web.Request, me: SignedIn) -> web.Response:
    form = await request.post()
    kind = str(form.get("type", ""))
    target = str(form.get("target", "")).strip()
    given = str(form.get("secret", "")).strip()
    allowed = request.app[keys.SETTINGS].delivery_allow_private_networks
    # A name for an internal host is caught by resolving it, before the database is
    # touched (a lookup may take a moment).
    internal = None
    if kind == "webhook" and target.startswith(("https://", "http://")):
        internal = await resolved_problem(target, allowed)
    async with request.app[keys.SESSIONS]() as session:
        unit = await managed_unit(session, me, request.match_info["code"])
        channels: list[dict[str, Any]] = [dict(c) for c in unit.channels]
        if problem := channel_problem(unit, kind, target, allowed) or internal:
            return await unit_page(
                request,
                me,
                session,
                unit,
                status=422,
                error=sentence(problem),
                section="channels",
                form=form_values(form, "type", "target"),
            )
        generated = not given and kind == "webhook"
        secret = secrets.token_urlsafe(32) if generated else given
        entry: dict[str, Any] = {"type": kind, "target": target}
        if secret:
            entry["secret"] = secret
        unit.channels = [*channels, entry]  # a new list: in-place edits of JSON are not saved
        session.add(unit)
        session.add(
            audit(
                me,
                "channel.added",
                "unit",
                unit.code,
                unit=unit.code,
                type=kind,
                target=target,
                secret=bool(secret),
            )
        )
        await session.commit()
    if not generated:
        raise redirect(f"/app/admin/units/{unit.code}", notice="channel_added")
    return shown_once(
        request,
        me,
        title=f"Webhook channel added to {unit.code}",
        secret=secret,
        back=f"/app/admin/units/{unit.code}",
        explain=(
            f"The signing secret of {target}, shown only now. Give it to whoever runs the "
            "receiving end: it checks X-Wildflag-Signature with it."
        ),
    )


@routes.post("/app/admin/units/{code}/channels/{index}/remove")
@page(roles=ADMINS)
async def remove_channel(request: web.Request, me: SignedIn) -> web.Response:
    """Remove by index, as the CLI does; the form also names the type and target it saw,
    so that a list changed meanwhile does not lose the wrong channel."""
    form = await request.post()
    index = id_of(request, "index")
    async with request.app[keys.SESSIONS]() as session:
        unit = await managed_unit(session, me, request.match_info["code"])
        channels = [dict(c) for c in unit.channels]
        if not 0 <= index < len(channels):
            raise PageError(404, "No such channel.")
        removed = channels[index]
        seen = (str(form.get("type", "")), str(form.get("target", "")))
        if seen != (removed.get("type", ""), removed.get("target", "")):
            raise PageError(409, "The unit's channels changed meanwhile. Reload and retry.")
        unit.channels = [c for i, c in enumerate(channels) if i != index]
        session.add(unit)
        session.add(
            audit(
                me,
                "channel.removed",
                "unit",
                unit.code,
                unit=unit.code,
                type=removed.get("type", ""),
                target=removed.get("target", ""),
            )
        )
        await session.commit()
    raise redirect(f"/app/admin/units/{unit.code}", notice="channel_removed")
