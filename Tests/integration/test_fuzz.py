"""A short libFuzzer run of every parser target (scripts/fuzz --seconds 3): the committed seed
corpora, which include every input that once crashed or hung a parser, are replayed first, then
a few seconds of mutation. Fails on any crash, hang, sanitizer report or a target that did not
run. Long runs are `scripts/fuzz --seconds 600 --release` by hand (see Fuzz/README.md)."""

from __future__ import annotations

import subprocess

import pytest

from conftest import REPO

TARGETS = ["http-request", "http-response", "http-differential", "config", "key-file",
           "token-response", "introspection-response", "jws"]
# The first build of the instrumented binary compiles every module again (.build-fuzz).
BUILD_AND_RUN_TIMEOUT = 1200
SKIP = 77


def test_every_fuzz_target_runs_clean_for_a_few_seconds():
    run = subprocess.run([str(REPO / "scripts" / "fuzz"), "--seconds", "3"], cwd=REPO,
                         capture_output=True, text=True, timeout=BUILD_AND_RUN_TIMEOUT)
    if run.returncode == SKIP:
        pytest.skip(f"no libFuzzer runtime in this Swift toolchain: {run.stderr.strip()}")
    assert run.returncode == 0, f"fuzzing found a problem:\n{run.stdout}\n{run.stderr[-4000:]}"
    rows = {line.split()[0]: line.split() for line in run.stdout.splitlines()[1:] if line.strip()}
    assert sorted(rows) == sorted(TARGETS), run.stdout
    for target, (_, executions, _rate, cov, _corpus, result) in rows.items():
        assert result == "ok", run.stdout
        # A target that never reached its parser (a broken entry point) would show no work.
        assert int(executions) > 100, f"{target} barely ran:\n{run.stdout}"
        assert int(cov) > 50, f"{target} covers almost nothing:\n{run.stdout}"
