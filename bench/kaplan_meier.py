"""Benchmark: ``efficacy.rules.kaplan_meier`` against lifelines' ``KaplanMeierFitter``.

Run: ``.venv/bin/python -m bench.kaplan_meier [runs]`` (lifelines is a dev dependency).
Three synthetic cohorts of 1,000 / 4,000 / 16,000 subjects, durations in study days (many
ties, as in the trial's data) and in continuous days (almost no ties), ~60 % events; each fit is
timed ``runs`` times (default 7) and the median printed, with the ratio to lifelines and the
growth from 4,000 to 16,000. Also checks that both give the same curve. Not run by CI.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings

import numpy as np
from lifelines import KaplanMeierFitter

from efficacy.rules import kaplan_meier

SIZES = (1_000, 4_000, 16_000)


def cohort(n: int, kind: str) -> tuple[list[float], list[bool]]:
    rng = np.random.default_rng(n)
    if kind == "study days":
        durations = rng.integers(1, 720, n).astype(float)
    else:
        durations = np.round(rng.exponential(300, n), 3)
    events = rng.random(n) < 0.6
    return durations.tolist(), events.tolist()


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def same_curve(durations, events) -> bool:
    km = kaplan_meier(durations, events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sf = KaplanMeierFitter().fit(durations, events).survival_function_.iloc[:, 0]
    return all(abs(r.survival - sf.loc[r.time]) < 1e-9 for r in km.table)


def main(runs: int) -> None:
    for kind in ("study days", "continuous"):
        print(f"durations in {kind} (median of {runs} runs)")
        ours_by_n = {}
        for n in SIZES:
            d, e = cohort(n, kind)
            ours = median_seconds(lambda d=d, e=e: kaplan_meier(d, e), runs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                theirs = median_seconds(lambda d=d, e=e: KaplanMeierFitter().fit(d, e), runs)
            ours_by_n[n] = ours
            print(
                f"  n={n:>6}: kaplan_meier {1000 * ours:7.2f} ms, lifelines {1000 * theirs:7.2f} ms"
                f" (ratio {ours / theirs:.2f}); same curve: {same_curve(d, e)}"
            )
        print(f"  16,000 / 4,000 time: {ours_by_n[16_000] / ours_by_n[4_000]:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
