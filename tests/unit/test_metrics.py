"""Unit tests of gateway.metrics: the registry and the Prometheus text format, read back."""

from __future__ import annotations

import math

import pytest

from gateway.metrics import CONTENT_TYPE, DEFAULT_BUCKETS, Counter, Gauge, MetricRegistry
from tests.promtext import parse

# the parser itself


def test_parser_reads_escapes_and_special_values() -> None:
    text = '# HELP m a\\\\b\\nc\n# TYPE m gauge\nm{a="x\\"y",b="1\\\\2\\n"} +Inf\n'
    family = parse(text)["m"]
    assert family.help == "a\\b\nc"
    assert family.value("m", a='x"y', b="1\\2\n") == math.inf


# counters


def test_content_type_is_the_text_format_0_0_4() -> None:
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_a_counter_without_labels_is_shown_at_zero() -> None:
    registry = MetricRegistry()
    registry.counter("jobs_total", "Jobs done.")
    text = registry.render()
    assert text == "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 0\n"


def test_counter_values_per_label_set() -> None:
    registry = MetricRegistry()
    calls = registry.counter("calls_total", "Calls.", ["function_name", "code"])
    calls.inc(function_name="a.openfaas-fn", code="200")
    calls.inc(function_name="a.openfaas-fn", code="200")
    calls.inc(function_name="a.openfaas-fn", code="500")
    calls.inc(2.5, function_name="b.openfaas-fn", code="200")
    family = parse(registry.render())["calls_total"]
    assert family.type == "counter"
    assert family.value("calls_total", function_name="a.openfaas-fn", code="200") == 2
    assert family.value("calls_total", function_name="a.openfaas-fn", code="500") == 1
    assert family.value("calls_total", function_name="b.openfaas-fn", code="200") == 2.5
    assert len(family.samples) == 3
    assert calls.value(function_name="a.openfaas-fn", code="200") == 2
    assert calls.value(function_name="never", code="200") == 0


def test_a_labelled_metric_without_samples_is_only_described() -> None:
    registry = MetricRegistry()
    registry.counter("calls_total", "Calls.", ["code"])
    family = parse(registry.render())["calls_total"]
    assert (family.help, family.type, family.samples) == ("Calls.", "counter", [])


def test_a_counter_does_not_go_down() -> None:
    counter = Counter("c_total", "C.")
    with pytest.raises(ValueError, match="cannot go down"):
        counter.inc(-1)


@pytest.mark.parametrize(
    "labels", [{}, {"code": "200"}, {"function_name": "a", "code": "200", "extra": "x"}]
)
def test_labels_must_be_exactly_the_declared_ones(labels: dict[str, str]) -> None:
    counter = Counter("c_total", "C.", ["function_name", "code"])
    with pytest.raises(ValueError, match="takes the labels"):
        counter.inc(**labels)


# label values and help text


@pytest.mark.parametrize(
    "value", ['say "hi"', "back\\slash", "two\nlines", 'all\\"\n\\n', "", "ünïcode ✓", "a,b=c}"]
)
def test_label_values_are_escaped_and_read_back(value: str) -> None:
    registry = MetricRegistry()
    registry.gauge("g", "G.", ["v"]).set(1, v=value)
    text = registry.render()
    assert len(text.splitlines()) == 3  # a newline in a value never breaks the line
    assert parse(text)["g"].value("g", v=value) == 1


def test_label_escapes_as_written() -> None:
    registry = MetricRegistry()
    registry.gauge("g", "G.", ["v"]).set(1, v='a"b\\c\nd')
    assert 'g{v="a\\"b\\\\c\\nd"} 1' in registry.render().splitlines()


def test_help_escapes_backslash_and_newline_only() -> None:
    registry = MetricRegistry()
    registry.counter("c", 'Say "x"\\y\nz.')
    assert registry.render().splitlines()[0] == '# HELP c Say "x"\\\\y\\nz.'
    assert parse(registry.render())["c"].help == 'Say "x"\\y\nz.'


# gauges


def test_gauge_set_inc_dec() -> None:
    registry = MetricRegistry()
    gauge = registry.gauge("load", "Load.", ["watchdog"])
    gauge.set(4, watchdog="w1")
    gauge.inc(watchdog="w1")
    gauge.dec(3, watchdog="w1")
    gauge.dec(watchdog="w2")
    family = parse(registry.render())["load"]
    assert family.type == "gauge"
    assert family.value("load", watchdog="w1") == 2
    assert family.value("load", watchdog="w2") == -1


def test_gauge_tracking_counts_while_the_block_runs_even_when_it_raises() -> None:
    gauge = Gauge("queued", "Queued.", ["function_name"])
    with gauge.tracking(function_name="f"):
        with gauge.tracking(function_name="f"):
            assert gauge.value(function_name="f") == 2
        assert gauge.value(function_name="f") == 1
    with pytest.raises(RuntimeError), gauge.tracking(function_name="f"):
        raise RuntimeError("boom")
    assert gauge.value(function_name="f") == 0


def test_gauge_clear_forgets_series() -> None:
    registry = MetricRegistry()
    labelled = registry.gauge("a", "A.", ["x"])
    plain = registry.gauge("b", "B.")
    labelled.set(1, x="gone")
    plain.set(5)
    labelled.clear()
    plain.clear()
    families = parse(registry.render())
    assert families["a"].samples == []
    assert families["b"].value("b") == 0


def test_label_named_like_an_argument() -> None:
    gauge = Gauge("g", "G.", ["value", "amount"])
    gauge.set(3, value="v", amount="a")
    gauge.inc(2, value="v", amount="a")
    assert gauge.value(value="v", amount="a") == 5


@pytest.mark.parametrize(
    ("value", "written"),
    [(3, "3"), (0.25, "0.25"), (-2, "-2"), (1e20, "1e+20"), (math.inf, "+Inf"),
     (-math.inf, "-Inf"), (math.nan, "NaN"), (2**60, "1.152921504606847e+18")],
)  # fmt: skip
def test_sample_values_as_prometheus_writes_them(value: float, written: str) -> None:
    registry = MetricRegistry()
    registry.gauge("g", "G.").set(value)
    assert registry.render().splitlines()[-1] == f"g {written}"
    assert parse(registry.render())["g"].value("g") == pytest.approx(value, nan_ok=True)


# histograms


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    registry = MetricRegistry()
    seconds = registry.histogram("req_seconds", "Time.", ["code"], [0.1, 1, 5])
    for value in (0.05, 0.1, 0.3, 0.9, 2, 7, 100):
        seconds.observe(value, code="200")
    seconds.observe(0.5, code="500")
    family = parse(registry.render())["req_seconds"]
    assert family.type == "histogram"
    buckets = {
        ls["le"]: v
        for n, ls, v in family.samples
        if n == "req_seconds_bucket" and ls["code"] == "200"
    }
    assert buckets == {"0.1": 2, "1": 4, "5": 5, "+Inf": 7}  # a value equal to a bound is in it
    assert family.value("req_seconds_sum", code="200") == pytest.approx(110.35)
    assert family.value("req_seconds_count", code="200") == 7
    assert family.value("req_seconds_bucket", code="500", le="0.1") == 0
    assert family.value("req_seconds_bucket", code="500", le="1") == 1
    assert family.value("req_seconds_bucket", code="500", le="+Inf") == 1
    assert family.value("req_seconds_count", code="500") == 1
    assert seconds.count(code="200") == 7
    assert seconds.count(code="404") == 0


def test_histogram_lines_in_order_le_last_among_labels() -> None:
    registry = MetricRegistry()
    registry.histogram("h", "H.", ["fn"], [1, 2]).observe(1.5, fn="a")
    assert registry.render().splitlines()[2:] == [
        'h_bucket{fn="a",le="1"} 0',
        'h_bucket{fn="a",le="2"} 1',
        'h_bucket{fn="a",le="+Inf"} 1',
        'h_sum{fn="a"} 1.5',
        'h_count{fn="a"} 1',
    ]


def test_histogram_without_labels_is_shown_empty_with_default_buckets() -> None:
    registry = MetricRegistry()
    registry.histogram("start_seconds", "Start.")
    family = parse(registry.render())["start_seconds"]
    bounds = [ls["le"] for n, ls, _ in family.samples if n == "start_seconds_bucket"]
    assert bounds == [*(f"{b:g}" for b in DEFAULT_BUCKETS), "+Inf"]
    assert bounds[:3] == ["0.005", "0.01", "0.025"]
    assert all(v == 0 for _, _, v in family.samples)
    assert family.value("start_seconds_count") == 0


def test_histogram_buckets_are_sorted_and_inf_is_implied() -> None:
    registry = MetricRegistry()
    registry.histogram("h", "H.", (), [5, 1, math.inf]).observe(3)
    family = parse(registry.render())["h"]
    assert [ls["le"] for n, ls, _ in family.samples if n == "h_bucket"] == ["1", "5", "+Inf"]


@pytest.mark.parametrize("buckets", [[], [math.inf], [1, 1]])
def test_histogram_refuses_bad_buckets(buckets: list[float]) -> None:
    with pytest.raises(ValueError, match="buckets"):
        MetricRegistry().histogram("h", "H.", (), buckets)


def test_histogram_refuses_a_label_named_le() -> None:
    with pytest.raises(ValueError, match="'le'"):
        MetricRegistry().histogram("h", "H.", ["le"])


# the registry


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "é"])
def test_invalid_metric_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid metric name"):
        MetricRegistry().counter(name, "X.")


@pytest.mark.parametrize("label", ["", "1a", "a-b", "__reserved"])
def test_invalid_label_names_are_refused(label: str) -> None:
    with pytest.raises(ValueError, match="invalid label name"):
        MetricRegistry().counter("c", "X.", [label])


def test_a_name_is_registered_once() -> None:
    registry = MetricRegistry()
    registry.counter("c", "X.")
    with pytest.raises(ValueError, match="registered already"):
        registry.gauge("c", "Y.")


def test_families_in_registration_order_series_sorted() -> None:
    registry = MetricRegistry()
    zeta = registry.gauge("zeta", "Z.", ["k"])
    zeta.set(1, k="b")
    zeta.set(2, k="a")
    registry.counter("alpha", "A.")
    lines = registry.render().splitlines()
    assert [line.split()[2] for line in lines if line.startswith("# TYPE")] == ["zeta", "alpha"]
    assert lines[2:4] == ['zeta{k="a"} 2', 'zeta{k="b"} 1']
