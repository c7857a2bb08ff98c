"""Cold start: how long a fresh Python process takes to `import function_app` (what the Functions
worker does before the first invocation), and that msgraph-sdk stays off that path.

Run from the repository root:
  .venv/bin/python -m benchmarks.bench_cold_start [--runs 7]

Each run is a new interpreter (no warm module cache in memory; the OS file cache is warm after the
first), measuring wall and CPU seconds of the import alone, and the modules it loaded. Prints the
median and the spread, with the load average: on a shared machine the wall figure follows the load,
the CPU figure much less.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
# Imported lazily, on the first Graph call: never by `import function_app`.
OFF_THE_HOT_PATH: Final = ("msgraph", "kiota_abstractions", "azure.identity", "msal")

PROBE: Final = """
import json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
import function_app
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
off = [name for name in json.loads(sys.argv[1]) if name in sys.modules]
print(json.dumps({"wall": wall, "cpu": cpu, "modules": len(sys.modules), "loaded": off}))
"""


def app_settings() -> dict[str, str]:
    """The local example settings (what `make dev` runs with): function_app checks them on import."""
    from devstack.dev_certificate import with_dev_certificate

    example = json.loads((REPO_ROOT / "local.settings.example.json").read_text(encoding="utf-8"))
    values = with_dev_certificate(example["Values"])
    return {str(name): str(value) for name, value in values.items() if value is not None}


def one_run() -> dict[str, object]:
    completed = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", PROBE, json.dumps(OFF_THE_HOT_PATH)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **app_settings(), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    runs = [one_run() for _ in range(max(1, options.runs))]
    walls = [float(str(run["wall"])) * 1000 for run in runs]
    cpus = [float(str(run["cpu"])) * 1000 for run in runs]
    loaded = sorted({str(name) for run in runs for name in run["loaded"]})  # type: ignore[attr-defined]
    print(f"cold start, `import function_app` in a new interpreter ({len(runs)} runs):")
    print(f"  wall (ms): median {statistics.median(walls):.0f}  min {min(walls):.0f}  max {max(walls):.0f}")
    print(f"  CPU (ms):  median {statistics.median(cpus):.0f}  min {min(cpus):.0f}  max {max(cpus):.0f}")
    print(f"  modules loaded: {runs[0]['modules']}")
    print(
        f"  off the hot path ({', '.join(OFF_THE_HOT_PATH)}): "
        + ("none imported" if not loaded else f"IMPORTED: {', '.join(loaded)}")
    )
    print(f"  load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} CPUs")
    if loaded:
        print("FAILED: modules meant to load lazily were imported by function_app", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
