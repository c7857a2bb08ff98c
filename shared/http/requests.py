"""Reading what a client sent: the JSON body and the If-Match header (who is acting: shared/http/auth.py)."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from shared.http.exceptions import HttpInputError, MalformedJson, PayloadTooLarge, UnsupportedMediaType
from shared.json_limits import TOO_DEEP

MAX_BODY_BYTES = 256 * 1024
# Table Storage ETags are about 40 characters; anything far longer is not one of ours.
MAX_IF_MATCH_LENGTH = 256


def json_object(req: func.HttpRequest, *, required: bool = True) -> dict[str, Any] | None:
    """The body as a JSON object; None for an empty body when not required."""
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body must be at most {MAX_BODY_BYTES} bytes")
    if not body.strip():
        if required:
            raise MalformedJson("a JSON object body is required")
        return None
    content_type = (req.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json")
    try:
        value = json.loads(body)
    except RecursionError as exc:
        raise MalformedJson(TOO_DEEP) from exc
    except ValueError as exc:
        # ValueError covers bad UTF-8, bad JSON and integers past Python's digit limit.
        raise MalformedJson("the body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise MalformedJson("the body must be a JSON object")
    return value


def if_match(req: func.HttpRequest) -> str | None:
    value = req.headers.get("if-match")
    if value is not None and len(value) > MAX_IF_MATCH_LENGTH:
        raise HttpInputError(f"If-Match must be at most {MAX_IF_MATCH_LENGTH} characters (an ETag)")
    return value.strip() if value and value.strip() else None
