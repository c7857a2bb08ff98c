"""The Teams app package: Microsoft's manifest JSON schema (from the @microsoft/app-manifest npm package,
never a copy in this repository) accepts what `make teams-app` writes; the icons are what Teams wants."""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devstack import teams_app
from shared.console.assets import STATIC_DIR

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "node_modules" / "@microsoft" / "app-manifest" / "build" / "json-schemas" / "teams"
APP_ID = "8a1b6a4e-3f5c-4a54-9d2e-1b2c3d4e5f60"
BASE_URL = "https://ccc-demo.azurewebsites.net"


def released_versions() -> list[str]:
    found = [p.name[1:] for p in SCHEMAS.iterdir() if re.fullmatch(r"v\d+\.\d+", p.name)]
    return sorted(found, key=lambda v: tuple(int(n) for n in v.split(".")))


def schema_for(version: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"v{version}" / "MicrosoftTeams.schema.json").read_text())
    return schema


@pytest.fixture
def package(tmp_path: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(teams_app.write_package(BASE_URL, APP_ID, tmp_path / "app.zip"))


def test_the_manifest_uses_the_newest_released_schema_version() -> None:
    template = json.loads(teams_app.TEMPLATE.read_text())
    newest = released_versions()[-1]
    assert template["manifestVersion"] == newest
    assert template["$schema"].endswith(f"/v{newest}/MicrosoftTeams.schema.json")


def test_microsofts_schema_accepts_the_package_manifest(package: zipfile.ZipFile) -> None:
    manifest = json.loads(package.read("manifest.json"))
    schema = schema_for(manifest["manifestVersion"])
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_schema_check_can_fail(package: zipfile.ZipFile) -> None:
    manifest = json.loads(package.read("manifest.json"))
    manifest["staticTabs"][0]["scopes"] = ["everywhere"]
    del manifest["accentColor"]
    validator = jsonschema.Draft4Validator(schema_for(manifest["manifestVersion"]))
    assert len(list(validator.iter_errors(manifest))) >= 2


def test_the_package_holds_the_deployment_values_at_the_zip_root(package: zipfile.ZipFile) -> None:
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    manifest = json.loads(package.read("manifest.json"))
    assert manifest["id"] == APP_ID
    assert manifest["webApplicationInfo"] == {"id": APP_ID, "resource": f"api://{APP_ID}"}
    assert manifest["validDomains"] == ["ccc-demo.azurewebsites.net"]
    tabs = {tab["entityId"]: tab for tab in manifest["staticTabs"]}
    assert tabs["connector-console"]["contentUrl"] == f"{BASE_URL}/api/console/#/connector"
    assert tabs["expert-directory"]["contentUrl"] == f"{BASE_URL}/api/console/#/directory"
    assert "${" not in json.dumps(manifest)


def png_size(data: bytes) -> tuple[int, int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, _depth, color_type = struct.unpack(">IIBB", data[16:26])
    return width, height, color_type


def test_the_icons_have_the_sizes_teams_requires(package: zipfile.ZipFile) -> None:
    assert png_size(package.read("color.png"))[:2] == (192, 192)
    width, height, color_type = png_size(package.read("outline.png"))
    # The outline icon is 32x32, white on transparent: RGBA.
    assert (width, height, color_type) == (32, 32, 6)


@pytest.mark.parametrize(
    ("base_url", "app_id", "complaint"),
    [
        ("http://ccc-demo.azurewebsites.net", APP_ID, "https"),
        ("https://ccc-demo.azurewebsites.net/api", APP_ID, "origin"),
        ("", APP_ID, "https"),
        (BASE_URL, "not-a-guid", "GUID"),
        (BASE_URL, "", "GUID"),
    ],
)
def test_values_that_cannot_make_a_valid_package_are_refused(
    base_url: str, app_id: str, complaint: str
) -> None:
    with pytest.raises(teams_app.TeamsAppError, match=complaint):
        teams_app.manifest_for(base_url, app_id)


def test_make_teams_app_without_values_says_how_to_call_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert teams_app.main(["--base-url", "", "--app-id", ""]) == 2
    assert "PUBLIC_BASE_URL=https://" in capsys.readouterr().err


def test_the_served_teams_library_is_the_pinned_npm_package_file() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["@microsoft/teams-js"]
    installed = ROOT / "node_modules" / "@microsoft" / "teams-js"
    assert json.loads((installed / "package.json").read_text())["version"] == pinned
    npm_file = installed / "dist" / "umd" / "MicrosoftTeams.min.js"
    assert (STATIC_DIR / "microsoft-teams.min.js").read_bytes() == npm_file.read_bytes(), (
        "copy node_modules/@microsoft/teams-js/dist/umd/MicrosoftTeams.min.js to shared/console/static/"
    )
