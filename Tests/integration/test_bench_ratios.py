"""bench/ratios.py: the paired tokenproxy / nginx ratios the benchmark goals are judged by.

Pure arithmetic on loadgen lines, no servers: a wrong pairing would quietly move a goal's
verdict (bench/run_report.py), so the pairing rules are pinned here.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from ratios import paired, spread  # noqa: E402


def run(target, repeat, rps, p99=100):
    return {"target": target, "repeat": repeat, "rps": rps, "p99_us": p99}


def test_each_repeat_is_divided_by_its_own_partner():
    # Repeat 2 slowed both targets: its pair still compares them with each other (600 / 500),
    # not with another repeat's run; the upstream baseline is no partner.
    runs = [run("tokenproxy", 1, 1000), run("nginx", 1, 1000),
            run("nginx", 2, 500), run("tokenproxy", 2, 600),
            run("tokenproxy", 3, 900), run("nginx", 3, 880),
            run("upstream", 3, 5000)]
    result = paired(runs, "rps")
    assert result["ratios"] == [1.0, 1.2, round(900 / 880, 3)]
    assert result["median"] == round(900 / 880, 3)
    assert (result["low"], result["high"], result["pairs"]) == (1.0, 1.2, 3)


def test_a_repeat_missing_a_target_is_left_out():
    runs = [run("tokenproxy", 1, 100), run("nginx", 1, 200), run("tokenproxy", 2, 400)]
    assert paired(runs, "rps")["ratios"] == [0.5]
    assert paired([run("tokenproxy", 1, 100)], "rps") is None


def test_p99_pairs_like_rps_and_the_cell_shows_the_spread():
    runs = [run("tokenproxy", 1, 1, p99=110), run("nginx", 1, 1, p99=100),
            run("tokenproxy", 2, 1, p99=90), run("nginx", 2, 1, p99=100)]
    result = paired(runs, "p99_us")
    assert result["median"] == 1.0
    assert spread(result) == "1.00 (0.90–1.10)"
    assert spread(None) == "-"
