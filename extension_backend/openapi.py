"""The OpenAPI document, generated from the very models the handlers validate with."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic.json_schema import models_json_schema

from extension_backend import keys
from extension_backend.case_actions_api import AckIn, AssignIn, StatusIn
from extension_backend.cases_api import MergeIn, RerouteIn, SplitIn
from extension_backend.evidence_api import EXTENSIONS
from extension_backend.proof_of_work import PROOF_HEADER, ChallengeOut
from extension_backend.schemas import (
    MAX_ROW_ID,
    AnalysisOut,
    ErrorOut,
    HealthOut,
    ReceiptOut,
    ReportStatusOut,
    Schemas,
)
from extension_backend.settings import Settings
from extension_backend.telegram_api import LinkCodeIn, LinkIn

routes = web.RouteTableDef()

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(name: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed body (not JSON, not UTF-8, unreadable multipart) or header "
        "(X-Telegram-User not a user id).",
        401: "Missing, malformed or unknown credentials.",
        403: "The caller's role may not do this (or X-Telegram-User names an unlinked user).",
        404: "Unknown reference, or a token that does not open it.",
        413: "Body, part, image or image count over the deployment's limits.",
        415: "Content type or file type not accepted.",
        409: "The change cannot be made as asked (e.g. merging a merged case, acknowledging "
        "an acknowledged one).",
        410: "The evidence link's time is up (its signature is right): get a fresh one.",
        422: "A field is missing, unknown or invalid; `field` names it.",
        429: "Rate limit reached; see Retry-After.",
        503: "The database cannot be reached (restarting, or down); retry after Retry-After "
        "seconds, with the same Idempotency-Key for a report.",
        507: "No room to store the evidence; nothing was stored.",
    }
    # Every operation reads the database, so any can answer 503 while it is away.
    return {str(s): {"description": reasons[s], **_json("ErrorOut")} for s in (*statuses, 503)}


#: Row ids (cases, accounts, deliveries) are 32-bit; anything else is refused (404 or 422).
ROW_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}
CASE_ID = {"name": "case_id", "in": "path", "required": True, "schema": ROW_ID}
BINARY = {"schema": {"type": "string", "format": "binary"}}
EVIDENCE_TYPES = sorted(EXTENSIONS)


def _query(name: str, schema: dict[str, Any], description: str, required: bool = False) -> Any:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


EVIDENCE_PARAMETERS = [
    {
        "name": "sha256",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "description": "The SHA-256 of the stored (served) copy.",
    },
    _query("case", ROW_ID, "The case the file belongs to.", required=True),
    _query(
        "expires",
        {"type": "integer", "minimum": 0, "maximum": 10**12 - 1},
        "Link expiry, Unix seconds (signed links).",
    ),
    _query("delivery", ROW_ID, "The delivery the link was made for (signed links)."),
    _query(
        "sig",
        {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "Hex HMAC-SHA256 of the link under the server's link secret.",
    ),
]
OBJECT = {"content": {"application/json": {"schema": {"type": "object"}}}}
#: A JSON report (no images) needs a URL or some text; otherwise 422 with field `report`.
JSON_REPORT = {
    "allOf": [_ref("ReportIn")],
    "anyOf": [
        {
            "required": ["url"],
            "properties": {"url": {"type": "string", "pattern": "^https?://[^/?#\\s]"}},
        },
        {"required": ["text"], "properties": {"text": {"type": "string", "pattern": "\\S"}}},
    ],
}
PROOF_PARAMETER = {
    "name": PROOF_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Anonymous reports only: a solved challenge from GET /api/v1/proof-of-work (base64 "
        "JSON `{challenge, solution}`), good for one report. The report then counts against "
        "the higher anonymous limit. Unreadable: 400 `proof_malformed`; forged, wrong or too "
        "easy: 403 `proof_invalid`; late: 403 `proof_expired`; used before: 403 "
        "`proof_reused`. Ignored with a bearer token or when the deployment has it off."
    ),
    "schema": {"type": "string", "maxLength": 4096},
}


def build_openapi(settings: Settings, schemas: Schemas) -> dict[str, Any]:
    _, defs = models_json_schema(
        [
            (schemas.report, "validation"),
            (schemas.analyze, "validation"),
            (ReceiptOut, "serialization"),
            (ReportStatusOut, "serialization"),
            (AnalysisOut, "serialization"),
            (ErrorOut, "serialization"),
            (HealthOut, "serialization"),
            (ChallengeOut, "serialization"),
            (MergeIn, "validation"),
            (SplitIn, "validation"),
            (RerouteIn, "validation"),
            (AckIn, "validation"),
            (AssignIn, "validation"),
            (StatusIn, "validation"),
            (LinkCodeIn, "validation"),
            (LinkIn, "validation"),
        ],
        ref_template=REF,
    )
    multipart_schema = {
        "type": "object",
        "required": ["report"],
        "additionalProperties": False,  # any other part is refused (422 `unknown_part`)
        "properties": {
            "report": {**_ref("ReportIn"), "description": "The report as a JSON part."},
            "images": {
                "type": "array",
                "maxItems": settings.max_images,
                "items": {"type": "string", "format": "binary"},
                "description": "Listing images (JPEG, PNG, WebP or GIF).",
            },
            "screenshot": {"type": "string", "format": "binary"},
            "snapshot": {
                "type": "string",
                "format": "binary",
                "description": "The page saved as HTML or MHTML.",
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wildflag API",
            "version": "1",
            "description": "Report suspicious online offers of wildlife; follow a report.",
        },
        "servers": [{"url": settings.base_url}],
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "receipt": {"type": "apiKey", "in": "header", "name": "X-Receipt-Token"},
                "telegramUser": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Telegram-User",
                    "description": (
                        "Only with a `bot` bearer token: the Telegram user the bot acts for. "
                        "The request then has the rights of the account that user linked; "
                        "an unlinked user gets 403 `telegram_not_linked`."
                    ),
                },
            },
        },
        "paths": {
            "/api/v1/reports": {
                "post": {
                    "operationId": "createReport",
                    "summary": "Report a listing (anonymous unless a bearer token is sent).",
                    "description": (
                        "A `bot` token alone sends an anonymous report without the "
                        "per-address limit (the bot limits per user); with X-Telegram-User "
                        "the report is the linked officer's."
                    ),
                    "security": [{}, {"bearer": []}, {"bearer": [], "telegramUser": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": (
                                "Makes retries safe: a repeat with the same key within 24 h "
                                "stores nothing and answers 200 with the first receipt (same "
                                "reference and receipt_token) and `Idempotent-Replayed: true`."
                                " Keys are scoped to the token's account; anonymous keys "
                                "share one scope, so choose a random key (a UUID) per report."
                                " An invalid key is a 400 naming the field `Idempotency-Key`."
                            ),
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 100,
                                "pattern": "^[A-Za-z0-9._:-]{1,100}$",
                            },
                        },
                        PROOF_PARAMETER,
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": JSON_REPORT},
                            "multipart/form-data": {
                                "schema": multipart_schema,
                                "encoding": {"report": {"contentType": "application/json"}},
                            },
                        },
                    },
                    "responses": {
                        "201": {"description": "Stored and routed.", **_json("ReceiptOut")},
                        "200": {
                            "description": (
                                "A repeat of an Idempotency-Key: the first receipt again, "
                                "nothing stored (header `Idempotent-Replayed: true`)."
                            ),
                            "headers": {
                                "Idempotent-Replayed": {
                                    "schema": {"type": "string", "enum": ["true"]}
                                }
                            },
                            **_json("ReceiptOut"),
                        },
                        **_errors(400, 401, 413, 415, 422, 429, 507),
                        "403": {
                            "description": (
                                "Refused: `blocked` (the operator refuses this network), "
                                "`proof_invalid`, `proof_expired`, `proof_reused` (solve a "
                                "new challenge, or send without a proof), "
                                "`telegram_not_linked`."
                            ),
                            **_json("ErrorOut"),
                        },
                    },
                }
            },
            "/api/v1/reports/{reference}": {
                "get": {
                    "operationId": "getReport",
                    "summary": "A report's status, for its receipt holder or an officer.",
                    "security": [{"receipt": []}, {"bearer": []}],
                    "parameters": [
                        {
                            "name": "reference",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "The status.", **_json("ReportStatusOut")},
                        **_errors(400, 401, 403, 404),
                    },
                }
            },
            "/api/v1/proof-of-work": {
                "get": {
                    "operationId": "getProofOfWorkChallenge",
                    "summary": "A signed challenge; its solution earns a higher anonymous limit.",
                    "description": (
                        "An ALTCHA v2 challenge (algorithm SHA-256), signed and expiring at "
                        "`parameters.expiresAt`; the server keeps nothing. Send "
                        f"`{PROOF_HEADER}` with an anonymous report: base64 of the JSON "
                        '`{"challenge": <this>, "solution": {"counter", "derivedKey"}}`. '
                        "404 when the deployment has proof of work switched off."
                    ),
                    "responses": {
                        "200": {"description": "A fresh challenge.", **_json("ChallengeOut")},
                        "404": {
                            "description": "Proof of work is switched off here.",
                            **_json("ErrorOut"),
                        },
                    },
                }
            },
            "/api/v1/analyze": {
                "post": {
                    "operationId": "analyze",
                    "summary": "Analyse one listing; nothing is stored.",
                    "description": (
                        "With an officer's bearer token the answer also says whether the "
                        "listing is already known (`duplicate`, `case_id`, `case_reports`)."
                    ),
                    "security": [{}, {"bearer": []}],
                    "requestBody": {"required": True, **_json("AnalyzeIn")},
                    "responses": {
                        "200": {"description": "The analysis.", **_json("AnalysisOut")},
                        **_errors(400, 401, 403, 413, 415, 422),
                    },
                }
            },
            "/api/v1/cases/{case_id}": {
                "get": {
                    "operationId": "getCase",
                    "summary": "A case with its reports, listings and evidence (audited).",
                    "security": [{"bearer": []}],
                    "parameters": [CASE_ID],
                    "responses": {
                        "200": {"description": "The case.", **OBJECT},
                        **_errors(400, 401, 403, 404),
                    },
                }
            },
            "/api/v1/cases/{case_id}/merge": {
                "post": {
                    "operationId": "mergeCase",
                    "summary": "Move this case's reports into another case the caller may see.",
                    "security": [{"bearer": []}],
                    "parameters": [CASE_ID],
                    "requestBody": {"required": True, **_json("MergeIn")},
                    "responses": {
                        "200": {"description": "The case merged into.", **OBJECT},
                        **_errors(400, 401, 403, 404, 409, 415, 422),
                    },
                }
            },
            "/api/v1/cases/{case_id}/reroute": {
                "post": {
                    "operationId": "rerouteCase",
                    "summary": "Send this case to another unit too, with a reason (audited).",
                    "security": [{"bearer": []}],
                    "parameters": [CASE_ID],
                    "requestBody": {"required": True, **_json("RerouteIn")},
                    "responses": {
                        "200": {"description": "The case.", **OBJECT},
                        **_errors(400, 401, 403, 404, 409, 415, 422),
                    },
                }
            },
            "/api/v1/cases/{case_id}/split": {
                "post": {
                    "operationId": "splitCase",
                    "summary": "Move some reports of this case into a new case.",
                    "security": [{"bearer": []}],
                    "parameters": [CASE_ID],
                    "requestBody": {"required": True, **_json("SplitIn")},
                    "responses": {
                        "201": {"description": "The new case.", **OBJECT},
                        **_errors(400, 401, 403, 404, 409, 415, 422),
                    },
                }
            },
            **_case_action_paths(),
            **_telegram_paths(),
            "/api/v1/evidence/{sha256}": {
                "get": {
                    "operationId": "getEvidence",
                    "summary": "One evidence file of a case (EXIF/GPS removed; audited).",
                    "description": (
                        "Opened by a signed link from a delivery (`case`, `expires`, "
                        "`delivery`, `sig`, as found in a payload's `evidence[].url`) or by a "
                        "bearer token of an account that sees the case (`case` only). Every "
                        "other request gets the same 404, so links cannot be probed."
                    ),
                    "security": [{}, {"bearer": []}],
                    "parameters": EVIDENCE_PARAMETERS,
                    "responses": {
                        "200": {
                            "description": "The stored copy, never the bytes as received.",
                            "content": dict.fromkeys(EVIDENCE_TYPES, BINARY),
                        },
                        **_errors(400, 401, 403, 404, 410),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "The process is up.",
                    "responses": {"200": {"description": "Alive.", **_json("HealthOut")}},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "ready",
                    "summary": "The database is reachable and migrated.",
                    "responses": {
                        "200": {"description": "Ready.", **_json("HealthOut")},
                        "503": {"description": "Not ready.", **_json("HealthOut")},
                    },
                }
            },
        },
    }


#: Case changes may be made by an officer's own token or by the bot for a linked officer.
AS_OFFICER = [{"bearer": []}, {"bearer": [], "telegramUser": []}]


def _case_action(operation: str, summary: str, body: str, required: bool) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation,
            "summary": summary,
            "security": AS_OFFICER,
            "parameters": [CASE_ID],
            "requestBody": {"required": required, **_json(body)},
            "responses": {
                "200": {"description": "The case as it is now.", **OBJECT},
                **_errors(400, 401, 403, 404, 409, 415, 422),
            },
        }
    }


def _case_action_paths() -> dict[str, Any]:
    return {
        "/api/v1/cases/{case_id}/acknowledge": _case_action(
            "acknowledgeCase",
            "The unit has the case in hand (once per case; audited). Body optional.",
            "AckIn",
            required=False,
        ),
        "/api/v1/cases/{case_id}/assign": _case_action(
            "assignCase",
            "Assign to the caller, or (unit admins and above) to `account` (audited).",
            "AssignIn",
            required=False,
        ),
        "/api/v1/cases/{case_id}/status": _case_action(
            "setCaseStatus",
            "Close with an outcome (e.g. `false_positive`), or reopen (audited).",
            "StatusIn",
            required=True,
        ),
    }


def _telegram_paths() -> dict[str, Any]:
    bot_only = [{"bearer": [], "telegramUser": []}]
    return {
        "/api/v1/telegram/link-codes": {
            "post": {
                "operationId": "createTelegramLinkCode",
                "summary": "A one-time code (15 minutes) to link an account to Telegram.",
                "description": "Admins for any account; unit admins for their unit's.",
                "security": [{"bearer": []}],
                "requestBody": {"required": True, **_json("LinkCodeIn")},
                "responses": {
                    "201": {"description": "`{code, expires_at, account}`.", **OBJECT},
                    **_errors(400, 401, 403, 404, 415, 422),
                },
            }
        },
        "/api/v1/telegram/link-codes/void": {
            "post": {
                "operationId": "voidTelegramLinkCode",
                "summary": "The bot spends a code that was posted where others saw it.",
                "security": [{"bearer": []}],
                "requestBody": {"required": True, **_json("LinkIn")},
                "responses": {
                    "200": {"description": "`{voided}`: whether the code was live.", **OBJECT},
                    **_errors(400, 401, 403, 415, 422),
                },
            }
        },
        "/api/v1/telegram/links": {
            "post": {
                "operationId": "linkTelegramUser",
                "summary": "The bot redeems a code for the Telegram user in X-Telegram-User.",
                "security": bot_only,
                "requestBody": {"required": True, **_json("LinkIn")},
                "responses": {
                    "201": {"description": "`{account}`: who the user now acts as.", **OBJECT},
                    **_errors(400, 401, 403, 415, 422),
                },
            },
            "delete": {
                "operationId": "unlinkTelegramUser",
                "summary": "The bot removes the link of the Telegram user in X-Telegram-User.",
                "security": bot_only,
                "responses": {
                    "200": {"description": "`{unlinked}`: whether there was a link.", **OBJECT},
                    **_errors(400, 401, 403),
                },
            },
        },
    }


@routes.get("/api/openapi.json")
async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(build_openapi(request.app[keys.SETTINGS], request.app[keys.SCHEMAS]))
