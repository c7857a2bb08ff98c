"""`make teams-app`: the Teams app package (manifest + two icons) for one deployment.

teams-app/manifest.template.json names `${APP_ID}` (the Entra app's client id, which is also the Teams
app id and the SSO resource), `${BASE_URL}` (the Function App's public https URL) and `${HOST}` (its
host name, the one valid domain). The zip is what a Teams admin uploads in the Teams admin center
(Manage apps > Upload new app) or a developer sideloads: a personal tab with the admin console and one
with the expert directory, both served by the Function App at /api/console/.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "teams-app"
TEMPLATE = APP_DIR / "manifest.template.json"
ICONS = ("color.png", "outline.png")
DEFAULT_OUTPUT = APP_DIR / "build" / "teams-app.zip"
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class TeamsAppError(ValueError):
    """The deployment's values cannot make a valid package; the message says which and why."""


def manifest_for(base_url: str, app_id: str) -> dict[str, Any]:
    """The manifest with the deployment's values filled in (checked before they go in)."""
    try:
        client_id = str(uuid.UUID(app_id))
    except ValueError as exc:
        raise TeamsAppError(f"the app id must be the Entra app's client id (a GUID), not {app_id!r}") from exc
    parts = urlsplit(base_url.rstrip("/"))
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not _HOST.fullmatch(host) or parts.path or parts.query:
        raise TeamsAppError(
            f"the base URL must be the app's public https origin (https://<app>.azurewebsites.net), "
            f"not {base_url!r}: Teams loads tabs over https only"
        )
    origin = f"https://{parts.netloc.lower()}"
    values = {"${APP_ID}": client_id, "${BASE_URL}": origin, "${HOST}": parts.netloc.lower()}
    manifest: dict[str, Any] = _filled(json.loads(TEMPLATE.read_text(encoding="utf-8")), values)
    return manifest


def _filled(value: Any, values: dict[str, str]) -> Any:
    """The template with each placeholder replaced in every string value (never in a key)."""
    if isinstance(value, dict):
        return {key: _filled(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, values) for item in value]
    if isinstance(value, str):
        for placeholder, replacement in values.items():
            value = value.replace(placeholder, replacement)
        if "${" in value:
            raise TeamsAppError(f"the manifest template has an unknown placeholder in {value!r}")
    return value


def write_package(base_url: str, app_id: str, output: Path = DEFAULT_OUTPUT) -> Path:
    manifest = manifest_for(base_url, app_id)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as package:
        # Teams wants the three files at the root of the zip, no folder.
        package.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n")
        for icon in ICONS:
            package.write(APP_DIR / icon, icon)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", required=True, help="the Function App's public URL (PUBLIC_BASE_URL)")
    parser.add_argument("--app-id", required=True, help="the Entra app's client id (ENTRA_APP_CLIENT_ID)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        written = write_package(args.base_url, args.app_id, args.output)
    except TeamsAppError as error:
        print(f"make teams-app: {error}", file=sys.stderr)
        print(
            "usage: PUBLIC_BASE_URL=https://<app>.azurewebsites.net ENTRA_APP_CLIENT_ID=<app id> "
            "make teams-app",
            file=sys.stderr,
        )
        return 2
    print(f"wrote {written.relative_to(ROOT) if written.is_relative_to(ROOT) else written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
