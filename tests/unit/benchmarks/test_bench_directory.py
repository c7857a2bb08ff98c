"""The directory benchmark: a tiny real run on the local stack. Figures are printed, never judged by
their values; what is pinned is the call budget (2 Graph calls a cold page, 1 a cached one) and that
every page of the department was read."""

from __future__ import annotations

import re

import pytest

from benchmarks.bench_directory import main
from devstack.azurite import Azurite

NUMBER = r"\d+\.\d"


@pytest.mark.integration
def test_a_small_run_prints_its_figures_and_keeps_the_call_budget(
    azurite: Azurite, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN 60 users are paged through in pages of 25 (3 pages a round), cold and warm
    argv = ["--rounds", "2", "--warmup", "1", "--users", "60", "--top", "25"]
    code = main([*argv, "--tables-connection-string", azurite.connection_string])
    out = capsys.readouterr().out
    assert code == 0, out
    # THEN each run read 6 pages of 20 results on average, cold with users + presence, warm presence only
    for name, calls in (("cold", "2.00"), ("warm", "1.00")):
        assert re.search(
            rf"{name}  pages    6  p50 +{NUMBER} ms  p99 +{NUMBER} ms  max +{NUMBER} ms  "
            rf"Graph calls per page {calls}  results per page 20.0",
            out,
        ), out


def test_arguments_are_checked() -> None:
    with pytest.raises(SystemExit):
        main(["--top", "51"])
