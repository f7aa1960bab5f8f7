"""The OpenAPI description of our API (GET /api/openapi.json), generated from the pydantic models in
server/schemas.py: what the pages rely on, and what tests/test_security_fuzz.py throws generated requests at."""

from __future__ import annotations

from pydantic import BaseModel

from server.facilitator import PASSCODE_HEADER
from server.schemas import (ControlResult, ErrorBody, FacilitatorView, Health, JoinRequest, PartnerView,
                            RejoinRequest)

_MODELS = (JoinRequest, RejoinRequest, ErrorBody, Health, FacilitatorView, PartnerView, ControlResult)
_ERRORS = {
    "400": "The request is malformed: the reason says what is wrong.",
    "403": "Not allowed from here: the reason says who may.",
    "404": "No such session or code.",
    "409": "The invite was used already.",
    "410": "The session has ended, or the invite expired.",
    "413": "The body is too large.",
    "415": "Not JSON.",
    "421": "A Host this server is not known by.",
    "429": "Too many requests (or sessions): wait, or end a session.",
    "503": "LiveKit cannot be reached.",
}


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _operation(summary: str, ok: tuple[str, dict], errors: tuple[str, ...], *, body: type[BaseModel] | None = None,
               facilitator: bool = False, parameters: list | None = None) -> dict:
    op: dict = {"summary": summary, "responses": {ok[0]: ok[1]}}
    for code in errors:
        op["responses"][code] = _json(ErrorBody, _ERRORS[code])
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if facilitator:
        op["security"] = [{"facilitatorCookie": []}, {"facilitatorPasscode": []}]
    if parameters:
        op["parameters"] = parameters
    return op


def build(cookie_name: str) -> dict:
    schemas: dict = {}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    sid = {"name": "sid", "in": "path", "required": True, "schema": {"type": "string"}}
    action = {"name": "action", "in": "path", "required": True,
              "schema": {"type": "string", "enum": ["pause", "resume", "end"]}}
    text = {"name": "text", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 512}}
    fac_errors = ("403", "421", "429")
    return {
        "openapi": "3.1.0",
        "info": {"title": "nobadparts coach", "version": "1",
                 "description": "The facilitator's and the partner's API. Every error is JSON {\"error\": ...}."},
        "paths": {
            "/api/health": {"get": _operation("Is the server up", ("200", _json(Health, "Up.")), ("421",))},
            "/api/sessions": {"post": _operation(
                "Start a session (facilitator)", ("201", _json(FacilitatorView, "The session, with its invite link.")),
                (*fac_errors, "503"), facilitator=True)},
            "/api/sessions/{sid}": {"get": _operation(
                "A session's state and a fresh facilitator token (facilitator)",
                ("200", _json(FacilitatorView, "The session.")), (*fac_errors, "404"), facilitator=True,
                parameters=[sid])},
            "/api/sessions/{sid}/{action}": {"post": _operation(
                "Pause or resume the coach, or end the session (facilitator)",
                ("200", _json(ControlResult, "Done.")), (*fac_errors, "404", "410"), facilitator=True,
                parameters=[sid, action])},
            "/api/join": {"post": _operation(
                "The partner redeems the invite, after consent", ("200", _json(PartnerView, "A partner token.")),
                ("400", "404", "409", "410", "413", "415", "421", "429"), body=JoinRequest)},
            "/api/rejoin": {"post": _operation(
                "The partner comes back (reload, dropped call)", ("200", _json(PartnerView, "A fresh partner token.")),
                ("400", "404", "410", "413", "415", "421", "429"), body=RejoinRequest)},
            "/api/qr": {"get": _operation(
                "The invite link as a QR code (facilitator)",
                ("200", {"description": "SVG.", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}),
                ("400", *fac_errors), facilitator=True, parameters=[text])},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "facilitatorCookie": {"type": "apiKey", "in": "cookie", "name": cookie_name,
                                      "description": "Set by our page when opened on the coach's computer."},
                "facilitatorPasscode": {"type": "apiKey", "in": "header", "name": PASSCODE_HEADER,
                                        "description": "COACH_FACILITATOR_PASSCODE, from another device."},
            },
        },
    }
