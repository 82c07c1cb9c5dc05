"""bench.runtimes's rounds: each series' calls in slices, in turn with the others."""

from bench.runtimes import Step, in_rounds, targets
from bench.stats import Sample, Series, Summary, merged


def test_a_series_in_rounds_is_one_series_of_all_its_calls() -> None:
    one = Series("runc wc", 8, samples=[Sample(0.1)] * 3, wall=1.0, cpu={"watchdog": 0.5})
    two = Series("runc wc", 8, samples=[Sample(0.3)] * 5, wall=3.0, cpu={"watchdog": 1.0})
    summary = merged([one, two]).summary()
    assert (summary.calls, summary.wall_s, summary.calls_per_s) == (8, 4.0, 2.0)
    assert summary.median_ms == 300.0
    assert summary.cpu_ms_per_call == {"watchdog": 187.5}


def test_rounds_split_the_calls_and_turn_the_order_round() -> None:
    ran: list[tuple[str, int]] = []

    def step(name: str, calls: int) -> Step:
        def run(n: int) -> Series:
            ran.append((name, n))
            return Series(name, 1, samples=[Sample(0.01)] * n, wall=n / 10)

        return Step(name, 1, calls, run)

    measured = in_rounds(
        [step("(a) docker run wc", 5), step("docker wc", 4), step("runc wc", 1)], 2, "faas/wc"
    )
    assert ran == [
        ("(a) docker run wc", 3),
        ("docker wc", 2),
        ("runc wc", 1),
        ("docker wc", 2),  # the second round backwards; runc's one call is spent
        ("(a) docker run wc", 2),
    ]
    assert [(s.name, len(s.samples)) for s in measured] == [
        ("(a) docker run wc", 5),
        ("docker wc", 4),
        ("runc wc", 1),
    ]
    assert [s.versus for s in measured] == ["", "(a) docker run wc", "(a) docker run wc"]


def test_each_daemonless_runtime_is_held_to_the_targets() -> None:
    def summary(name: str, concurrency: int, seconds: float) -> Summary:
        calls = [Sample(seconds)] * 4
        return Series(name, concurrency, samples=calls, wall=seconds * 4 / concurrency).summary()

    summaries = [
        summary("(a) docker run wc", 1, 0.2),
        summary("docker wc", 8, 0.8),  # 10 calls/s
        summary("crun wc", 1, 0.01),  # 0.05x docker run
        summary("crun wc", 8, 0.05),  # 160 calls/s: 16x
        summary("runc wc", 1, 0.03),  # 0.15x
        summary("runc wc", 8, 0.1),  # 80 calls/s: 8x
    ]
    measured = targets(summaries, ("faas/wc:latest",))
    found = {t["target"]: (t["measured"], t["met"]) for t in measured}
    assert found == {
        "crun wc median / docker run": (0.05, True),
        "crun wc calls/s / docker runtime's, concurrency 8": (16.0, True),
        "runc wc median / docker run": (0.15, False),
        "runc wc calls/s / docker runtime's, concurrency 8": (8.0, False),
    }
