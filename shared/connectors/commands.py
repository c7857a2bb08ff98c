"""Client input (decoded JSON, route values) turned into typed commands, or InvalidConnectorInput.

Everything a client sends is checked here before it reaches the domain or a table key: unknown fields
and wrong types are refused (a typo must not be silently ignored), URLs must be https (plain http only on
loopback, for the local simulators), and secrets are write-only.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final
from urllib.parse import urlsplit

from shared.connectors.exceptions import InvalidConnectorInput
from shared.connectors.model import (
    ConnectorSettings,
    ContactCenterConfig,
    WebexContactCenter,
    WebhookContactCenter,
)

# What GET shows instead of a secret. Sending it back on PATCH means "keep the stored secret", so a client
# can round-trip the object it read.
REDACTED: Final = "<redacted>"

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LOOPBACK_NAMES = frozenset({"localhost"})
MAX_URL_LENGTH = 2048
MAX_ID_LENGTH = 256
MAX_SECRET_LENGTH = 1024
MIN_WEBHOOK_SECRET_LENGTH = 16


class Unset(Enum):
    """Marks a PATCH field the client did not send (distinct from an explicit null)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


@dataclass(frozen=True)
class SettingsPatch:
    show_user_details: bool | None = None
    presence_sync: bool | None = None

    def apply_to(self, settings: ConnectorSettings) -> ConnectorSettings:
        return ConnectorSettings(
            show_user_details=(
                settings.show_user_details if self.show_user_details is None else self.show_user_details
            ),
            presence_sync=settings.presence_sync if self.presence_sync is None else self.presence_sync,
        )


@dataclass(frozen=True)
class ContactCenterInput:
    """A contact-center configuration as sent by the client; `secret` None means "keep the stored one"."""

    type: str
    fields: dict[str, str]
    secret: str | None

    def resolve(self, existing: ContactCenterConfig | None) -> ContactCenterConfig:
        if self.type == WebexContactCenter.type:
            # No credential: an admin signs in to Webex (POST .../contact-center/webex/authorize).
            return WebexContactCenter(base_url=self.fields["baseUrl"], org_id=self.fields["orgId"].lower())
        secret = self.secret
        if secret is None:
            if not isinstance(existing, WebhookContactCenter):
                raise InvalidConnectorInput(
                    "contactCenter.secret is required when setting up a webhook contact center"
                )
            if self.fields["url"] != existing.url:
                # Keeping the stored secret would hand it to whatever host the new URL names.
                raise InvalidConnectorInput("contactCenter.secret must be sent again when the URL changes")
            secret = existing.secret
        return WebhookContactCenter(url=self.fields["url"], secret=secret)


@dataclass(frozen=True)
class CreateConnector:
    settings: ConnectorSettings
    contact_center: ContactCenterInput | None


@dataclass(frozen=True)
class UpdateConnector:
    settings: SettingsPatch
    contact_center: ContactCenterInput | Unset | None


_SECRET_FIELD: dict[str, str] = {WebhookContactCenter.type: "secret"}
_PLAIN_FIELDS = {
    WebexContactCenter.type: {"baseUrl": "webexHost", "orgId": "uuid"},
    WebhookContactCenter.type: {"url": "url"},
}
# Webex Contact Center's regional API hosts: https://api.wxcc-us1.cisco.com, -eu1, -eu2, -anz1, ...
_WEBEX_HOST = re.compile(r"api\.wxcc-[a-z]{2,4}[0-9]{1,2}\.cisco\.com")


def parse_tenant_id(raw: str | None) -> str:
    """A tenant id is a GUID; returned in canonical lower-case so it is one key, however it was typed."""
    if raw is None or not _GUID.fullmatch(raw):
        raise InvalidConnectorInput("tenantId must be a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")
    return str(uuid.UUID(raw))


def parse_create(body: dict[str, Any] | None) -> CreateConnector:
    body = body or {}
    _reject_unknown(body, {"settings", "contactCenter"}, "")
    settings = _parse_settings(body["settings"]) if "settings" in body else SettingsPatch()
    contact_center = body.get("contactCenter")
    return CreateConnector(
        settings=settings.apply_to(ConnectorSettings()),
        contact_center=None if contact_center is None else _parse_contact_center(contact_center),
    )


def parse_update(body: dict[str, Any]) -> UpdateConnector:
    _reject_unknown(body, {"settings", "contactCenter"}, "")
    if not body:
        raise InvalidConnectorInput("the body names nothing to change: send settings and/or contactCenter")
    settings = _parse_settings(body["settings"]) if "settings" in body else SettingsPatch()
    contact_center: ContactCenterInput | Unset | None = UNSET
    if "contactCenter" in body:
        raw = body["contactCenter"]
        contact_center = None if raw is None else _parse_contact_center(raw)
    return UpdateConnector(settings=settings, contact_center=contact_center)


def _parse_settings(raw: object) -> SettingsPatch:
    if not isinstance(raw, dict):
        raise InvalidConnectorInput("settings must be an object")
    _reject_unknown(raw, {"showUserDetails", "presenceSync"}, "settings.")
    values: dict[str, bool] = {}
    for name in ("showUserDetails", "presenceSync"):
        if name in raw:
            if not isinstance(raw[name], bool):
                raise InvalidConnectorInput(f"settings.{name} must be true or false")
            values[name] = raw[name]
    return SettingsPatch(
        show_user_details=values.get("showUserDetails"), presence_sync=values.get("presenceSync")
    )


def _parse_contact_center(raw: object) -> ContactCenterInput:
    if not isinstance(raw, dict):
        raise InvalidConnectorInput("contactCenter must be an object or null")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _PLAIN_FIELDS:
        raise InvalidConnectorInput('contactCenter.type must be "webexcc" or "webhook"')
    plain = _PLAIN_FIELDS[kind]
    secret_field = _SECRET_FIELD.get(kind)
    allowed = {"type", *plain} | ({secret_field} if secret_field else set())
    _reject_unknown(raw, allowed, "contactCenter.")
    fields: dict[str, str] = {}
    for name, kind_of_value in plain.items():
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidConnectorInput(f"contactCenter.{name} is required and must be a non-empty string")
        value = value.strip()
        if not value.isprintable():
            raise InvalidConnectorInput(
                f"contactCenter.{name} must not contain control or invalid characters"
            )
        if kind_of_value == "url":
            _check_url(value, f"contactCenter.{name}")
        elif kind_of_value == "webexHost":
            value = _check_webex_base_url(value, f"contactCenter.{name}")
        elif kind_of_value == "uuid":
            if not _GUID.fullmatch(value):
                raise InvalidConnectorInput(
                    f"contactCenter.{name} must be the Webex organization id, a UUID such as "
                    "2f9eecc5-0472-4549-9a83-2afdae0d4ba1 (Control Hub > Account)"
                )
        elif len(value) > MAX_ID_LENGTH:
            raise InvalidConnectorInput(
                f"contactCenter.{name} must be printable and at most {MAX_ID_LENGTH} characters"
            )
        fields[name] = value
    secret = None if secret_field is None else _parse_secret(raw.get(secret_field), kind)
    return ContactCenterInput(type=kind, fields=fields, secret=secret)


def _parse_secret(value: object, kind: str) -> str | None:
    name = f"contactCenter.{_SECRET_FIELD[kind]}"
    if value is None or value == REDACTED:
        return None
    if not isinstance(value, str):
        raise InvalidConnectorInput(f"{name} must be a string")
    if not value.isprintable():
        raise InvalidConnectorInput(f"{name} must not contain control or invalid characters")
    minimum = MIN_WEBHOOK_SECRET_LENGTH
    if not minimum <= len(value) <= MAX_SECRET_LENGTH:
        raise InvalidConnectorInput(f"{name} must be {minimum} to {MAX_SECRET_LENGTH} characters long")
    return value


def _check_url(value: str, name: str) -> None:
    if len(value) > MAX_URL_LENGTH:
        raise InvalidConnectorInput(f"{name} must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise InvalidConnectorInput(f"{name} is not a valid URL") from exc
    if not host or not port_ok or parts.username or parts.password or parts.fragment:
        raise InvalidConnectorInput(f"{name} must be an absolute URL without credentials or fragment")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(host):
        return
    raise InvalidConnectorInput(f"{name} must use https (plain http is accepted only on loopback)")


def _check_webex_base_url(value: str, name: str) -> str:
    """One of Webex Contact Center's regional API hosts (or loopback, for the local simulator), with no
    path: the connector must not be pointed at an arbitrary host with the tenant's Webex token."""
    _check_url(value, name)
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.query or parts.path not in ("", "/"):
        raise InvalidConnectorInput(f"{name} must be the API host only, e.g. https://api.wxcc-us1.cisco.com")
    if parts.scheme == "https" and _WEBEX_HOST.fullmatch(host) and parts.port in (None, 443):
        return f"https://{host}"
    if _is_loopback(host):
        return value.rstrip("/")
    raise InvalidConnectorInput(
        f"{name} must be a Webex Contact Center regional API host https://api.wxcc-<region>.cisco.com "
        "(us1, eu1, eu2, anz1, ca1, jp1, sg1), or loopback for a local simulator"
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reject_unknown(raw: dict[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidConnectorInput(
            f"unknown field(s): {', '.join(prefix + name for name in unknown)}; "
            f"allowed: {', '.join(prefix + name for name in sorted(allowed))}"
        )
