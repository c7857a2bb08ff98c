#!/usr/bin/env bash
# Static checks of infra/ without a Bicep compiler:
#   1. every .bicep file parses with pycep (the parser checkov uses), errors shown with positions;
#   2. checkov's Azure checks for Bicep pass: no failed check, no parsing error, and every skipped
#      check carries an inline justification (`// checkov:skip=CKV_AZURE_xx: why`).
# checkov pins its own parser versions, so it lives in its own virtualenv (.venv-checkov), created
# on first use and reused while the pinned version is installed. Exits non-zero on any failure.
# Needs Python 3.9-3.12 (PYTHON overrides the interpreter) and access to PyPI the first time.
set -euo pipefail

CHECKOV_VERSION="3.3.30"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA_DIR="$ROOT/infra"
VENV_DIR="$ROOT/.venv-checkov"
VENV_PYTHON="$VENV_DIR/bin/python"

log() { printf 'check-infra: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.10 python3; do
    [[ -n "$candidate" ]] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 12) else 1)'; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

installed_checkov_version() {
  [[ -x "$VENV_PYTHON" ]] || return 1
  "$VENV_PYTHON" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null
}

ensure_checkov() {
  if [[ "$(installed_checkov_version || true)" == "$CHECKOV_VERSION" ]]; then
    return 0
  fi
  local python
  python="$(find_python)" || fail "no Python 3.9-3.12 found (set PYTHON=/path/to/python3.11)"
  log "installing checkov==$CHECKOV_VERSION into $VENV_DIR (first run only)"
  rm -rf "$VENV_DIR"
  "$python" -m venv "$VENV_DIR"
  "$VENV_PYTHON" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  [[ "$(installed_checkov_version || true)" == "$CHECKOV_VERSION" ]] \
    || fail "checkov $CHECKOV_VERSION did not install into $VENV_DIR"
}

parse_every_file() {
  # checkov counts files it cannot parse but carries on; parsing each file here names the file and
  # the position instead.
  "$VENV_PYTHON" - "$INFRA_DIR" <<'PY'
import sys
from pathlib import Path

from pycep import BicepParser

infra = Path(sys.argv[1])
files = sorted(infra.rglob("*.bicep"))
if not files:
    sys.exit(f"check-infra: FAILED: no .bicep files under {infra}")
parser = BicepParser()
broken = []
for path in files:
    try:
        parsed = parser.parse(text=path.read_text(encoding="utf-8"))
    except Exception as error:  # pycep raises lark errors of several types
        first_lines = "\n    ".join(str(error).strip().splitlines()[:6])
        broken.append(f"{path.relative_to(infra)}:\n    {first_lines}")
        continue
    if not parsed:
        broken.append(f"{path.relative_to(infra)}: parsed to nothing")
if broken:
    sys.exit("check-infra: FAILED: Bicep parse errors:\n  " + "\n  ".join(broken))
print(f"check-infra: parsed {len(files)} Bicep files", file=sys.stderr)
PY
}

run_checkov() {
  local report status=0
  report="$(mktemp)"
  trap 'rm -f "$report"' RETURN
  # --skip-download: no call to the vendor's platform (offline machines, no API key needed).
  "$VENV_DIR/bin/checkov" \
    --directory "$INFRA_DIR" \
    --framework bicep \
    --skip-download \
    --compact \
    --output cli --output json \
    --output-file-path "console,$report" || status=$?

  "$VENV_PYTHON" - "$report" "$INFRA_DIR" <<'PY' || fail "checkov report (see above)"
import json
import sys
from pathlib import Path

report_path, infra = Path(sys.argv[1]), Path(sys.argv[2])
try:
    data = json.loads(report_path.read_text() or "null")
except json.JSONDecodeError as error:
    sys.exit(f"check-infra: checkov wrote no readable JSON report: {error}")
reports = data if isinstance(data, list) else [data]
bicep = [r for r in reports if isinstance(r, dict) and r.get("check_type") == "bicep"]
if not bicep:
    sys.exit("check-infra: checkov produced no bicep results (were the files found?)")
summary = bicep[0]["summary"]
results = bicep[0]["results"]
problems = []
if summary["parsing_errors"] or results.get("parsing_errors"):
    problems.append(f"parsing errors in: {results.get('parsing_errors')}")
if summary["failed"]:
    failed = sorted({f"{c['check_id']} {c['file_path']} {c['resource']}" for c in results["failed_checks"]})
    problems.append("failed checks:\n    " + "\n    ".join(failed))
if summary["passed"] == 0:
    problems.append("no check passed: checkov evaluated nothing")
for check in results.get("skipped_checks", []):
    comment = (check["check_result"].get("suppress_comment") or "").strip()
    if len(comment) < 20 or comment == "No comment provided":
        problems.append(f"{check['check_id']} skipped without a justification in {check['file_path']}")
seen = {Path(str(infra) + c["file_path"]).resolve() for kind in ("passed_checks", "skipped_checks", "failed_checks") for c in results.get(kind, [])}
stray = [str(path) for path in seen if not path.is_file()]
if stray:
    problems.append(f"results for files outside infra/: {stray}")
if problems:
    sys.exit("check-infra: " + "\n".join(problems))
print(
    f"check-infra: checkov {summary['checkov_version']}: {summary['passed']} passed, "
    f"{summary['skipped']} skipped (justified), 0 failed, {summary['resource_count']} resources",
    file=sys.stderr,
)
PY
  [[ "$status" -eq 0 ]] || fail "checkov exited with status $status"
}

[[ -d "$INFRA_DIR" ]] || fail "$INFRA_DIR not found"
ensure_checkov
parse_every_file
run_checkov
log "OK"
