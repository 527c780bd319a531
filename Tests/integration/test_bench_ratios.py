"""bench/ratios.py: the paired tokenproxy / nginx ratios the benchmark goals are judged by, and
bench/pooled.py, which pools them over several runs.

Pure arithmetic on loadgen lines, no servers: a wrong pairing would quietly move a goal's
verdict (bench/run_report.py), so the pairing rules are pinned here.
"""

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from pooled import median_interval, rows  # noqa: E402
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


def test_the_median_interval_is_the_binomial_order_statistics():
    # n = 25: P(Binomial(25, 1/2) <= 7) = 2.2 %, P(<= 8) = 5.4 %, so ranks 8 and 18.
    assert median_interval([float(v) for v in range(25, 0, -1)]) == (8.0, 18.0)
    # Six values are the fewest whose extremes cover the median 95 % of the time (1 - 2/64).
    assert median_interval([3.0, 1.0, 2.0, 6.0, 5.0, 4.0]) == (1.0, 6.0)
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    for n in range(6, 60):
        low, high = median_interval([float(v) for v in range(1, n + 1)])
        k = int(low)
        assert high == n + 1 - k
        miss = 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        assert miss <= 0.05 < 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def test_a_full_run_pools_each_part_under_its_own_name(tmp_path):
    def part(ratio):
        return {"runs": [run("tokenproxy", 1, 100 * ratio), run("nginx", 1, 100),
                         run("tokenproxy", 2, 200 * ratio), run("nginx", 2, 200)]}

    for name, ratio in (("a.json", 1.1), ("b.json", 0.9)):
        body = {"parts": {"pinned/proxy": part(ratio), "unpinned/token-api": part(ratio * 2),
                          "footprint": {"idle_rss_kib": 7000}}}
        for entry in body["parts"]["pinned/proxy"]["runs"]:
            entry.update(scheme="http", connections=1)
        for entry in body["parts"]["unpinned/token-api"]["runs"]:
            entry["connections"] = 16
        (tmp_path / name).write_text(json.dumps(body))
    pooled = rows([str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert sorted(pooled) == [("pinned/proxy http", 1), ("unpinned/token-api unix", 16)]
    assert pooled[("pinned/proxy http", 1)]["rps"] == [1.1, 1.1, 0.9, 0.9]
    assert pooled[("unpinned/token-api unix", 16)]["rps"] == [2.2, 2.2, 1.8, 1.8]
