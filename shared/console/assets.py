"""The console's static files (shared/console/static/), served by the Function App itself.

Only files that exist in that folder, by their plain name, are served: the route parameter is matched
against the listing, never joined onto a path, so `..` or an encoded slash cannot reach another file.
Every page and asset carries the console's Content-Security-Policy: scripts and styles from this
origin only (no inline script, no eval), calls to this origin only, framed only by the Teams clients.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
INDEX = "index.html"
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,80}\.(?:js|css|svg|png)")
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# The Teams web, desktop and mobile clients show tabs in frames of these origins (Microsoft's list for
# tabs that run in Teams, Outlook and the Microsoft 365 app).
TEAMS_FRAME_ANCESTORS = (
    "https://teams.microsoft.com",
    "https://*.teams.microsoft.com",
    "https://teams.cloud.microsoft",
    "https://*.cloud.microsoft",
    "https://*.office.com",
    "https://outlook.office.com",
    "https://*.microsoft365.com",
)
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'self' " + " ".join(TEAMS_FRAME_ANCESTORS),
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), clipboard-write=(self)",
}


@functools.cache
def asset_names() -> frozenset[str]:
    return frozenset(p.name for p in STATIC_DIR.iterdir() if p.is_file() and _NAME.fullmatch(p.name))


def read_asset(name: str) -> tuple[bytes, str] | None:
    """The file's bytes and content type, or None for a name that is not one of the console's files."""
    if name != INDEX and name not in asset_names():
        return None
    path = STATIC_DIR / name
    return path.read_bytes(), CONTENT_TYPES[path.suffix]
