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
        # Paced runs answer at the offered rate: never pooled as a load row.
        body["parts"]["unpinned/token-api"]["runs"] += [
            paced_run("tokenproxy", 1, 1000.0, 0.06), paced_run("nginx", 1, 1000.0, 0.09)]
        (tmp_path / name).write_text(json.dumps(body))
    pooled = rows([str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert sorted(pooled) == [("pinned/proxy http", 1), ("unpinned/token-api unix", 16)]
    assert pooled[("pinned/proxy http", 1)]["rps"] == [1.1, 1.1, 0.9, 0.9]
    assert pooled[("unpinned/token-api unix", 16)]["rps"] == [2.2, 2.2, 1.8, 1.8]


def paced_run(target, repeat, rate, cpu_s, requests=3000, seconds=3.0, p99=100):
    return {"target": target, "repeat": repeat, "rate": rate, "rps": requests / seconds,
            "p50_us": 30, "p99_us": p99, "requests": requests, "seconds": seconds,
            "server_cpu_s": cpu_s, "errors": 0, "connections": 4}


def test_paced_runs_get_their_own_rows_and_no_goal():
    # bench/summarize.py keeps paced runs (loadgen -r) out of the load rows, and reports per
    # rate each server's CPU per request and share of a CPU; bench/run_report.py shows them
    # without a goal, so they never move the goal count.
    from run_report import Table
    from summarize import medians, paced

    runs = [paced_run("tokenproxy", r, 1000.0, 0.06) for r in (1, 2, 3)]
    runs += [paced_run("nginx", r, 1000.0, 0.09) for r in (1, 2, 3)]
    runs += [paced_run("tokenproxy", 1, 10000.0, 2.7, requests=30000),
             paced_run("nginx", 1, 10000.0, 0.9, requests=30000)]
    assert medians(runs) == []
    low, high = paced(runs)
    assert (low["rate"], high["rate"]) == (1000.0, 10000.0)
    assert low["tokenproxy"]["cpu_us_per_request"] == 20.0
    assert low["tokenproxy"]["cpu_percent"] == 2.0
    assert low["ratio_cpu"] == round(20.0 / 30.0, 2)
    assert high["tokenproxy"]["cpu_percent"] == 90.0 and high["ratio_cpu"] == 3.0
    table = Table()
    table.paced_rows("token API", [low, high], "unpinned")
    assert [row["met"] for row in table.rows] == ["—", "—"]
    assert "10,000 requests/s" in table.rows[1]["measurement"]
    assert table.rows[1]["ratio"].startswith("CPU 3.00×")
