"""`local.settings.json` `Values`, the app settings Core Tools loads for local runs, and the file itself
for running under Core Tools (`make local-settings`: the example plus a DEV-ONLY notification
certificate, which the example leaves empty so no private key sits in the repository)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import MutableMapping
from pathlib import Path

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_SETTINGS_FILE = "local.settings.json"
EXAMPLE_SETTINGS_FILE = "local.settings.example.json"


class LocalSettingsError(ValueError):
    """The local settings file cannot be used; the message names the file and the problem."""


def settings_file(directory: Path = REPO_ROOT) -> Path | None:
    """`local.settings.json`, else the checked-in example, else None."""
    for name in (LOCAL_SETTINGS_FILE, EXAMPLE_SETTINGS_FILE):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def read_local_settings(directory: Path = REPO_ROOT) -> dict[str, str]:
    """The `Values` of the settings file in `directory` ({} when there is none)."""
    path = settings_file(directory)
    if path is None:
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LocalSettingsError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise LocalSettingsError(f"{path} must hold a JSON object")
    if document.get("IsEncrypted") is True:
        raise LocalSettingsError(f"{path} is encrypted (IsEncrypted: true); decrypt it with Core Tools first")
    values = document.get("Values", {})
    if not isinstance(values, dict):
        raise LocalSettingsError(f"{path}: Values must be a JSON object")
    return {
        name: text for name, value in values.items() if (text := _as_setting(path, name, value)) is not None
    }


def apply_local_settings(
    values: dict[str, str], environ: MutableMapping[str, str] | None = None
) -> list[str]:
    """Copy settings into the environment without overriding variables already set; return the names
    copied."""
    env = os.environ if environ is None else environ
    applied = [name for name in values if name not in env]
    for name in applied:
        env[name] = values[name]
    return applied


def load_local_settings(
    directory: Path = REPO_ROOT, environ: MutableMapping[str, str] | None = None
) -> list[str]:
    """Read the local settings file and apply it to the environment; return the names copied."""
    path = settings_file(directory)
    applied = apply_local_settings(read_local_settings(directory), environ)
    if path is not None:
        logger.info("Loaded %d setting(s) from %s", len(applied), path.name)
    return applied


def _as_setting(path: Path, name: object, value: object) -> str | None:
    # Core Tools reads Values as strings; JSON numbers and booleans become their text, null is unset.
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str | int | float):
        return str(value)
    raise LocalSettingsError(f"{path}: setting {name!r} must be a string, not {type(value).__name__}")


def write_local_settings(directory: Path = REPO_ROOT, *, force: bool = False) -> Path:
    """Write `local.settings.json` for `func start`: the example's values, NOTIFICATION_CERTIFICATE set
    to the DEV-ONLY certificate in .devstack/ (generated on first use). An existing file is kept unless
    `force`: it may hold a developer's own settings."""
    from devstack.dev_certificate import dev_notification_certificate

    target = directory / LOCAL_SETTINGS_FILE
    if target.exists() and not force:
        raise LocalSettingsError(
            f"{target} exists; keep it, or run again with --force (FORCE=1) to replace it"
        )
    example = directory / EXAMPLE_SETTINGS_FILE
    document = json.loads(example.read_text(encoding="utf-8"))
    values = document.setdefault("Values", {})
    values["NOTIFICATION_CERTIFICATE"] = dev_notification_certificate()
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m devstack.local_settings",
        description="Write local.settings.json for the Azure Functions Core Tools (func start).",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing local.settings.json")
    arguments = parser.parse_args(argv)
    try:
        written = write_local_settings(force=arguments.force)
    except LocalSettingsError as error:
        print(error)
        return 1
    print(f"Wrote {written} (DEV-ONLY values; the notification certificate is .devstack/'s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
