"""What makes a soak fail, as pure functions over what the run recorded.

**Monotonic growth** of a resource series (RSS, its anonymous part — heap and stacks, where a
leak shows — open descriptors, threads): the samples of the
warm-up (the first `WARMUP_FRACTION` of the run, at least `WARMUP_MIN_SECONDS`) are dropped, the
rest is cut into three equal thirds, and the series *grows* when the median of the last third
exceeds the median of the second third by more than its tolerance (`GROWTH_TOLERANCE`: an
absolute amount or a share of the second third's median, whichever is larger). Medians ignore
the short spikes of a burst of connections or a reload; comparing the last two thirds rather
than the start asks whether the series is *still* climbing once caches, pools and the malloc
arenas have filled. The first third's median and the least-squares slope per minute are printed
beside it.

**Unexplained 503**: a 503 is allowed only when the IdP failed or stalled around it: some
injected event must end no earlier than one token lifetime (plus `SLACK_SECONDS`) before the
request was sent, and start no later than the request's timeout after it.
"""

from __future__ import annotations

import statistics

WARMUP_FRACTION = 0.1
WARMUP_MIN_SECONDS = 10.0
# series → (absolute tolerance, relative tolerance of the second third's median)
GROWTH_TOLERANCE = {"rss_mib": (2.0, 0.05), "rss_anon_mib": (2.0, 0.05), "fds": (4.0, 0.0),
                    "threads": (2.0, 0.0)}
SLACK_SECONDS = 1.0
MIN_SAMPLES_PER_THIRD = 3


def growth(times: list[float], values: list[float], tolerance: tuple[float, float], duration: float) -> dict:
    """The growth figures of one series and whether it grew ("grew": True/False, or None when
    the run was too short to tell)."""
    warmup = max(WARMUP_MIN_SECONDS, WARMUP_FRACTION * duration)
    kept = [(t, v) for t, v in zip(times, values) if t >= warmup]
    third = len(kept) // 3
    if third < MIN_SAMPLES_PER_THIRD:
        return {"grew": None, "reason": f"{len(kept)} samples after a {warmup:.0f} s warm-up: too few to tell",
                "warmup_s": warmup}
    parts = [kept[:third], kept[third:2 * third], kept[2 * third:]]
    first, second, last = (statistics.median(v for _, v in part) for part in parts)
    allowed = max(tolerance[0], tolerance[1] * second)
    return {"grew": last - second > allowed, "warmup_s": warmup, "first_third": first,
            "second_third": second, "last_third": last, "growth": last - second, "allowed": allowed,
            "slope_per_min": 60 * slope([t for t, _ in kept], [v for _, v in kept]),
            "min": min(v for _, v in kept), "max": max(v for _, v in kept)}


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0 for fewer than two distinct xs)."""
    if len(xs) < 2:
        return 0.0
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread if spread else 0.0


def unexplained_unavailable(unavailable: list[tuple[float, str]], events: list[dict], lifetime: float,
                            request_timeout: float) -> list[tuple[float, str]]:
    """The 503s (send time, kind) that no injected IdP failure or stall can account for."""
    spans = sorted((e["start"], e["end"]) for e in events)
    left = []
    for sent, kind in unavailable:
        explained = any(start <= sent + request_timeout and end >= sent - lifetime - SLACK_SECONDS
                        for start, end in spans)
        if not explained:
            left.append((sent, kind))
    return left


def checks(run: dict) -> list[dict]:
    """Every check with its figure and whether it passed; `run` is what harness.run recorded."""
    totals = run["totals"]
    result = []

    def check(name: str, passed: bool, figure: str) -> None:
        result.append({"check": name, "passed": bool(passed), "figure": figure})

    for outcome, what in (("lost", "lost requests (no answer, reset, timeout)"),
                          ("expired", "expired tokens served"),
                          ("bad", "unexpected answers (not 200, not 503 + Retry-After)")):
        count = totals["token." + outcome] + totals["proxy." + outcome]
        check(what, count == 0, f"{count} (token API {totals['token.' + outcome]}, proxy {totals['proxy.' + outcome]})")
    unexplained = len(run["unexplained_unavailable"])
    allowed = totals["token.unavailable"] + totals["proxy.unavailable"]
    check("503s explained by an IdP failure or stall", unexplained == 0, f"{unexplained} of {allowed} unexplained")
    for kind in ("token", "proxy"):
        check(f"{kind} requests answered 200", totals[kind + ".ok"] > 0, str(totals[kind + ".ok"]))
    for key, figures in run["growth"].items():
        if figures["grew"] is None:
            check(f"{key} does not keep growing", True, figures["reason"])
            continue
        check(f"{key} does not keep growing", not figures["grew"],
              f"median {figures['first_third']:.2f} → {figures['second_third']:.2f} → {figures['last_third']:.2f} "
              f"(last − second {figures['growth']:+.2f}, allowed {figures['allowed']:.2f}; "
              f"slope {figures['slope_per_min']:+.3f}/min)")
    daemon = run["daemon"]
    check("daemon ran to the end", daemon["gone_at"] is None, "alive" if daemon["gone_at"] is None
          else f"gone {daemon['gone_at']:.1f} s into the run")
    check("daemon stopped cleanly on SIGTERM", daemon["exit_code"] == 0, f"exit {daemon['exit_code']}")
    check("every SIGHUP reloaded", daemon["reloads"] >= len(run["sighups"]),
          f"{daemon['reloads']} reloads logged for {len(run['sighups'])} SIGHUPs")
    # A daemon whose refresh stopped would ask the IdP (almost) never; one per token lifetime
    # plus the longest stall is the least a working one asks.
    options = run["options"]
    refreshes = run["idp"]["token_requests"]
    needed = int(run["duration_s"] / (options["token_lifetime"] + options["stall_seconds"]))
    check("tokens were refreshed throughout", refreshes >= needed,
          f"{refreshes} token requests at the IdP (at least {needed}: one per token lifetime + longest stall)")
    return result
