"""Typed keys for what the application holds; set up by `app.create_app`'s contexts."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import SessionFactory
from extension_backend.evidence import EvidenceStore
from extension_backend.intake import Intake
from extension_backend.proof_of_work import ProofOfWork
from extension_backend.ratelimit import Limiter
from extension_backend.schemas import Schemas
from extension_backend.settings import Settings
from matching.species import SpeciesMatcher

SETTINGS = web.AppKey("settings", Settings)
SCHEMAS = web.AppKey("schemas", Schemas)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", SessionFactory)
STORE = web.AppKey("store", EvidenceStore)
MATCHER = web.AppKey("matcher", SpeciesMatcher)
INTAKE = web.AppKey("intake", Intake)
ANON_LIMITER = web.AppKey("anonymous_limiter", Limiter)
#: Anonymous reports that carry a valid proof of work, per address (a higher limit).
POW_LIMITER = web.AppKey("proof_of_work_limiter", Limiter)
#: Issues and checks the challenges (set up by `app.proof_of_work_context`).
PROOF_OF_WORK = web.AppKey("proof_of_work", ProofOfWork)
TOKEN_LIMITER = web.AppKey("token_limiter", Limiter)
BOT_LIMITER = web.AppKey("bot_limiter", Limiter)
#: Failed dashboard sign-ins, per address and per e-mail.
LOGIN_LIMITER = web.AppKey("login_limiter", Limiter)
