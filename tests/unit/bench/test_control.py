"""bench.control's rounds: how they add up to the figures it reports."""

from bench import wrk
from bench.control import Round, Run, Series, merge, merge_raw, targets
from bench.streams import Writes


def _series(name: str, good: int, seconds: float, p50: float, **extra: object) -> Series:
    result = wrk.Result(good + 1, seconds, 1, 0, p50, 2 * p50, 3 * p50)
    series = Series(name, 64, result, {"gateway": seconds / 2})
    for key, value in extra.items():
        setattr(series, key, value)
    return series


def test_rounds_merge_into_rates_over_all_of_them_and_median_latencies() -> None:
    merged = merge(
        [
            _series("sync c64", 100, 1.0, 1.0),
            _series("sync c64", 300, 2.0, 5.0),
            _series("sync c64", 200, 1.0, 2.0),
        ]
    )
    assert merged.result.good == 600 and merged.result.wrong == 3
    assert merged.result.rate == 150.0  # 600 answers in 4 seconds, not a mean of rates
    assert merged.result.p50_ms == 2.0 and merged.result.p99_ms == 6.0
    assert merged.cpu == {"gateway": 2.0}
    assert merged.callbacks is None


def test_async_rounds_merge_their_callbacks_drains_and_writes() -> None:
    a = _series("async c64", 10, 1.0, 1.0, callbacks=10, duplicates=0, drain_seconds=2.0,
                writes=Writes(50, 0), drain_cpu={"watchdog": 1.0})  # fmt: skip
    b = _series("async c64", 30, 1.0, 1.0, callbacks=29, duplicates=1, drain_seconds=3.0,
                writes=Writes(150, 2), drain_cpu={"watchdog": 0.5})  # fmt: skip
    merged = merge([a, b])
    assert merged.callbacks == 39 and merged.duplicates == 1 and merged.lost == 1
    assert merged.drain_rate == 39 / 5.0
    assert merged.writes == Writes(200, 2)
    assert merged.drain_cpu == {"watchdog": 1.5}


def test_a_rounds_lost_callbacks_are_not_hidden_by_anothers_late_ones() -> None:
    # calls in flight as wrk stopped call back too: one round has more callbacks than 202s
    late = _series("async c64", 10, 1.0, 1.0, callbacks=12, duplicates=0, drain_seconds=1.0)
    lost = _series("async c64", 10, 1.0, 1.0, callbacks=8, duplicates=0, drain_seconds=1.0)
    assert (late.lost, lost.lost) == (0, 2)
    assert merge([late, lost]).lost == 2


def test_raw_publishes_merge_into_one_rate() -> None:
    rounds = [
        {"publishes": 100.0, "seconds": 1.0, "rate": 100.0},
        {"publishes": 500.0, "seconds": 2.0, "rate": 250.0},
    ]
    assert merge_raw(rounds)["rate"] == 200.0


def test_each_target_carries_its_value_in_every_round() -> None:
    def one(sync_rate: int) -> Round:
        plain = {
            key: _series(key, rate, 1.0, p50)
            for key, rate, p50 in [
                ("healthz c1", 1000, 0.1),
                ("sync c1", 500, 0.5),
                ("healthz c64", 1000, 1.0),
                ("sync c64", sync_rate, 2.0),
                ("async c8", 100, 5.0),
            ]
        }
        for key in ("async c64", "async c64 held"):
            plain[key] = _series(key, 100, 1.0, 5.0, callbacks=100, drain_seconds=1.0)
        return Round(plain, dict(plain), {"publishes": 1000.0, "seconds": 1.0, "rate": 1000.0})

    rounds = [one(200), one(600)]
    run = Run(rounds=rounds)
    run.series = {k: merge([r.series[k] for r in rounds]) for k in rounds[0].series}
    run.floor = {k: merge([r.floor[k] for r in rounds]) for k in rounds[0].floor}
    run.raw_publish = merge_raw([r.raw_publish for r in rounds])
    sync = next(t for t in targets(run) if t.name.startswith("sync c64: calls/s"))
    assert sync.rounds == (0.2, 0.6)
    assert sync.value == 0.4 and sync.met is False  # 800 calls in 2 s over 2000 in 2 s
