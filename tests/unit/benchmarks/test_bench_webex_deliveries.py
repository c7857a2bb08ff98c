"""The Webex deliveries benchmark: a short real run prints every figure and exits 0 (figures never
judged by their values)."""

from __future__ import annotations

import pytest

from benchmarks.bench_webex_deliveries import main


@pytest.mark.integration
def test_a_short_run_prints_every_figure_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--agents", "3", "--changes", "4"]) == 0
    out = capsys.readouterr().out
    for label in (
        "events delivered      15",
        "events per second",
        "latency p95",
        "connections opened",
        "order violations      0",
        "bad signatures        0",
    ):
        assert label in out
