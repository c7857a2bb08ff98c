"""Building HTTP responses: JSON bodies, the error envelope, small HTML pages for browser redirects."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

import azure.functions as func

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers={**_SECURITY_HEADERS, **(headers or {})},
    )


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def html_page(status: int, title: str, paragraphs: list[str]) -> func.HttpResponse:
    """A minimal page for people who land here from Microsoft's redirect. Every text is escaped."""
    body = "".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}"
        "</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return func.HttpResponse(
        document,
        status_code=status,
        mimetype="text/html",
        charset="utf-8",
        headers={
            **_SECURITY_HEADERS,
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Referrer-Policy": "no-referrer",
        },
    )
