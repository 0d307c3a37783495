"""The WhatsApp Cloud API simulator: `POST /{version}/{phone_number_id}/messages` for templates.

app = create_app()              # shipped default fixture: one sender, the reminder templates
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from simulators.asgi import Request, Response, json_response
from simulators.common import TRANSPORT_ACTIONS, Fault, SimulatorApp, iso_micro
from simulators.whatsapp.fixture import load_fixture

E164 = re.compile(r"^\+?[1-9]\d{6,14}$")
VERSION = re.compile(r"^v\d+\.\d+$")

WHATSAPP_ACTIONS = {"bad_credentials", "rate_limit", "server_error", "unavailable", "gateway_timeout"}

DEFAULT_OPTIONS: dict[str, Any] = {
    "fault_seed": 0,  # seed of the random choices behind fault probabilities and latency ranges
}


def graph_error(status: int, code: int, message: str, subcode: int | None = None, **data: Any) -> Response:
    """The Graph API error shape."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": base64.urlsafe_b64encode(secrets.token_bytes(12)).decode().rstrip("="),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if data:
        error["error_data"] = {"messaging_product": "whatsapp", **data}
    return json_response({"error": error}, status)


class WhatsAppSimulator(SimulatorApp):
    fault_actions = TRANSPORT_ACTIONS | WHATSAPP_ACTIONS
    default_options = DEFAULT_OPTIONS

    def __init__(self, fixture: dict | None, *, strict: bool = True, **options: Any) -> None:
        super().__init__(fixture, strict=strict, **options)
        self.router.add("POST", "/{version}/{phoneNumberId}/messages", self._send_message)

    # -- state ----------------------------------------------------------------------------------

    def reset_state(self) -> None:
        self.senders: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []

    def seed(self, fixture: dict) -> None:
        for sender in fixture.get("senders", []):
            phone_number_id, token = sender.get("phone_number_id"), sender.get("access_token")
            if not isinstance(phone_number_id, str) or not isinstance(token, str):
                raise ValueError("every sender needs a string phone_number_id and access_token")
            templates = {}
            for template in sender.get("templates", []):
                key = (template["name"], template.get("language", "en"))
                templates[key] = int(template.get("body_params", 0))
            self.senders[phone_number_id] = {
                "phone_number_id": phone_number_id,
                "access_token": token,
                "templates": templates,
                "allowed_recipients": sender.get("allowed_recipients"),
            }

    def dump_state(self) -> dict[str, Any]:
        return {
            "senders": [
                {
                    "phone_number_id": s["phone_number_id"],
                    "templates": [
                        {"name": name, "language": language, "body_params": count}
                        for (name, language), count in s["templates"].items()
                    ],
                }
                for s in self.senders.values()
            ],
            "messages": self.messages,
        }

    # -- errors and faults ------------------------------------------------------------------------

    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return graph_error(status, 100 if status < 500 else 1, message)

    async def fault_response(self, request: Request, fault: Fault) -> Response | None:
        if fault.action == "bad_credentials":
            return graph_error(401, 190, "Error validating access token: Session has expired.", 463)
        if fault.action == "rate_limit":
            code = int(fault.number("code", 130429))
            message = "(#130429) Rate limit hit" if code == 130429 else "(#80007) Rate limit issues"
            response = graph_error(429, code, message)
            if "retry_after" in fault.args:
                response.set_header("Retry-After", str(int(fault.number("retry_after", 1))))
            return response
        if fault.action == "server_error":
            return graph_error(500, 131000, "(#131000) Something went wrong")
        if fault.action == "unavailable":
            return graph_error(503, 2, "(#2) Service temporarily unavailable")
        if fault.action == "gateway_timeout":
            return graph_error(504, 2, "(#2) Service temporarily unavailable")
        return await super().fault_response(request, fault)

    # -- the messages endpoint --------------------------------------------------------------------

    async def _send_message(self, request: Request) -> Response:
        phone_number_id = request.path_params["phoneNumberId"]
        if not VERSION.match(request.path_params["version"]):
            return graph_error(400, 2500, "Unknown path components")
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        sender = self.senders.get(phone_number_id)
        if not token or not any(s["access_token"] == token for s in self.senders.values()):
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if sender is None or sender["access_token"] != token:
            return graph_error(
                400,
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                33,
            )
        try:
            body = request.json()
        except ValueError:
            return graph_error(400, 100, "(#100) The request body could not be parsed as JSON")
        if not isinstance(body, dict):
            return graph_error(400, 100, "(#100) Invalid parameter")
        problem = self._validate(sender, body)
        if problem is not None:
            return problem
        template = body["template"]
        parameters = [p.get("text") for p in _body_parameters(template)]
        message_id = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode()
        to = body["to"]
        self.messages.append(
            {
                "id": message_id,
                "phone_number_id": phone_number_id,
                "to": to,
                "template": template["name"],
                "language": template["language"]["code"],
                "parameters": parameters,
                "received_at": iso_micro(self.clock.now()),
            }
        )
        return json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                "messages": [{"id": message_id}],
            }
        )

    def _validate(self, sender: dict[str, Any], body: dict[str, Any]) -> Response | None:
        if body.get("messaging_product") != "whatsapp":
            return graph_error(400, 100, "(#100) The parameter messaging_product is required.")
        to = body.get("to")
        if not isinstance(to, str) or not E164.match(to):
            return graph_error(
                400, 100, "(#100) Invalid parameter", details="Invalid recipient phone number: to"
            )
        allowed = sender["allowed_recipients"]
        if allowed is not None and to.lstrip("+") not in {r.lstrip("+") for r in allowed}:
            return graph_error(
                400,
                131030,
                "(#131030) Recipient phone number not in allowed list",
                details=f"{to} not allowed",
            )
        if body.get("type") != "template":
            return graph_error(400, 100, "(#100) Param type must be template", details="type")
        template = body.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("name"), str):
            return graph_error(400, 100, "(#100) The parameter template['name'] is required.")
        language = template.get("language")
        if not isinstance(language, dict) or not isinstance(language.get("code"), str):
            return graph_error(400, 100, "(#100) The parameter template['language']['code'] is required.")
        expected = sender["templates"].get((template["name"], language["code"]))
        if expected is None:
            return graph_error(
                404,
                132001,
                "(#132001) Template name does not exist in the translation",
                details=f"template name ({template['name']}) does not exist in {language['code']}",
            )
        parameters = _body_parameters(template)
        if any(
            not isinstance(p, dict) or p.get("type") != "text" or not isinstance(p.get("text"), str)
            for p in parameters
        ):
            return graph_error(400, 100, "(#100) Invalid parameter", details="body parameters must be text")
        if len(parameters) != expected:
            return graph_error(
                400,
                132000,
                "(#132000) Number of parameters does not match the expected number of params",
                details=f"body: number of localizable_params ({len(parameters)}) does not match the "
                f"expected number of params ({expected})",
            )
        return None


def _body_parameters(template: dict[str, Any]) -> list[Any]:
    parameters: list[Any] = []
    for component in template.get("components") or []:
        if isinstance(component, dict) and component.get("type") == "body":
            parameters.extend(component.get("parameters") or [])
    return parameters


def create_app(fixture: dict | None = None, *, strict: bool = True, **options: Any) -> WhatsAppSimulator:
    """The simulator seeded with `fixture` (the shipped default fixture when None)."""
    return WhatsAppSimulator(load_fixture() if fixture is None else fixture, strict=strict, **options)
