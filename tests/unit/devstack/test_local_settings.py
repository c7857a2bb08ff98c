"""local.settings.json loading for local runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack.local_settings import (
    REPO_ROOT,
    LocalSettingsError,
    apply_local_settings,
    load_local_settings,
    read_local_settings,
    write_local_settings,
)
from shared.settings import load_settings


def write(path: Path, document: object) -> None:
    path.write_text(json.dumps(document), encoding="utf-8")


def test_local_settings_file_wins_over_the_example(tmp_path: Path) -> None:
    # GIVEN both files
    write(tmp_path / "local.settings.json", {"Values": {"A": "local"}})
    write(tmp_path / "local.settings.example.json", {"Values": {"A": "example"}})

    # WHEN / THEN the developer's own file is used
    assert read_local_settings(tmp_path) == {"A": "local"}


def test_example_is_the_fallback_and_no_file_means_no_settings(tmp_path: Path) -> None:
    assert read_local_settings(tmp_path) == {}

    write(tmp_path / "local.settings.example.json", {"IsEncrypted": False, "Values": {"A": "example"}})
    assert read_local_settings(tmp_path) == {"A": "example"}


def test_values_become_strings_like_core_tools_reads_them(tmp_path: Path) -> None:
    write(tmp_path / "local.settings.json", {"Values": {"N": 5, "F": 1.5, "B": True, "S": "s", "Z": None}})

    assert read_local_settings(tmp_path) == {"N": "5", "F": "1.5", "B": "True", "S": "s"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must hold a JSON object"),
        ('{"IsEncrypted": true, "Values": {}}', "encrypted"),
        ('{"Values": []}', "Values must be a JSON object"),
        ('{"Values": {"X": {"nested": 1}}}', "setting 'X' must be a string"),
    ],
)
def test_unusable_files_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "local.settings.json").write_text(content, encoding="utf-8")

    with pytest.raises(LocalSettingsError, match=message):
        read_local_settings(tmp_path)


def test_variables_already_set_are_not_overridden() -> None:
    # GIVEN an environment that already sets A
    environ = {"A": "from-env"}

    # WHEN applying settings for A and B
    applied = apply_local_settings({"A": "from-file", "B": "from-file"}, environ)

    # THEN only B is copied
    assert applied == ["B"]
    assert environ == {"A": "from-env", "B": "from-file"}


def test_load_applies_the_file_to_the_given_environment(tmp_path: Path) -> None:
    write(tmp_path / "local.settings.json", {"Values": {"A": "1", "B": "2"}})
    environ = {"B": "kept"}

    assert load_local_settings(tmp_path, environ) == ["A"]
    assert environ == {"A": "1", "B": "kept"}


def test_make_local_settings_writes_a_file_core_tools_can_start_with(tmp_path: Path) -> None:
    # GIVEN the repository's example, whose NOTIFICATION_CERTIFICATE is empty (no key in git)
    example = json.loads((REPO_ROOT / "local.settings.example.json").read_text(encoding="utf-8"))
    assert example["Values"]["NOTIFICATION_CERTIFICATE"] == ""
    write(tmp_path / "local.settings.example.json", example)
    # WHEN local.settings.json is written
    written = write_local_settings(tmp_path)
    # THEN it has every example value, and a certificate the app accepts
    values = json.loads(written.read_text(encoding="utf-8"))["Values"]
    assert {k: v for k, v in values.items() if k != "NOTIFICATION_CERTIFICATE"} == {
        k: v for k, v in example["Values"].items() if k != "NOTIFICATION_CERTIFICATE"
    }
    assert "BEGIN PRIVATE KEY" in values["NOTIFICATION_CERTIFICATE"]
    settings = load_settings(values)
    assert settings.entra_app_client_id == example["Values"]["ENTRA_APP_CLIENT_ID"]
    # AND a developer's own file is never replaced without --force
    written.write_text('{"Values": {"MINE": "1"}}', encoding="utf-8")
    with pytest.raises(LocalSettingsError, match="--force"):
        write_local_settings(tmp_path)
    assert read_local_settings(tmp_path) == {"MINE": "1"}
    write_local_settings(tmp_path, force=True)
    assert "MINE" not in read_local_settings(tmp_path)
