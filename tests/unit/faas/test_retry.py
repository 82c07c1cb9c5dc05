"""Unit tests of faas.retry: the annotations of a retry policy, and its backoff."""

from __future__ import annotations

import math
import random
import re

import pytest

from faas.errors import SpecError
from faas.retry import (
    ANNOTATIONS,
    ATTEMPTS_ANNOTATION,
    CODES_ANNOTATION,
    MAX_WAIT_ANNOTATION,
    MIN_WAIT_ANNOTATION,
    RetryPolicy,
    exponential_backoff,
)
from faas.spec import FunctionSpec
from faas.wire import Outcome


def policy(**annotations: str) -> RetryPolicy:
    """A policy read from annotations given by their last name part: attempts, codes, ..."""
    return RetryPolicy.from_annotations(
        {f"com.openfaas.retry.{k}": v for k, v in annotations.items()}
    )


def low() -> float:
    return 0.0


def high() -> float:
    return 1.0


# the annotations


def test_annotations_are_the_openfaas_pro_names() -> None:
    assert ANNOTATIONS == (
        "com.openfaas.retry.attempts",
        "com.openfaas.retry.codes",
        "com.openfaas.retry.min_wait",
        "com.openfaas.retry.max_wait",
    )


def test_defaults() -> None:
    default = RetryPolicy()
    assert default.attempts == 3
    assert default.codes == frozenset({429, 500, 502, 503, 504})
    assert (default.min_wait, default.max_wait) == (1.0, 30.0)


def test_no_annotations_give_the_defaults() -> None:
    assert RetryPolicy.from_annotations({}) == RetryPolicy()


def test_other_annotations_are_ignored() -> None:
    annotations = {"topic": "orders", "com.faas.pids": "64", "com.openfaas.retry.other": "x"}
    assert RetryPolicy.from_annotations(annotations) == RetryPolicy()


def test_all_annotations() -> None:
    read = policy(attempts="5", codes="500, 503", min_wait="500ms", max_wait="1m")
    assert read == RetryPolicy(attempts=5, codes=frozenset({500, 503}), min_wait=0.5, max_wait=60)


def test_a_policy_is_frozen_and_hashable() -> None:
    with pytest.raises(AttributeError):
        RetryPolicy().attempts = 4  # type: ignore[misc]
    assert hash(policy(attempts="4")) == hash(RetryPolicy(attempts=4))


def test_read_from_a_deployed_functions_annotations() -> None:
    spec = FunctionSpec.from_deployment(
        {"service": "fn", "image": "img", "annotations": {ATTEMPTS_ANNOTATION: "10"}}
    )
    assert RetryPolicy.from_annotations(spec.annotations).attempts == 10


# attempts


@pytest.mark.parametrize(
    ("text", "attempts"), [("1", 1), ("3", 3), ("100", 100), (" 7 ", 7), ("05", 5)]
)
def test_attempts(text: str, attempts: int) -> None:
    assert policy(attempts=text).attempts == attempts


@pytest.mark.parametrize(
    "text", ["0", "101", "-1", "+3", "1.5", "3.0", "1e2", "three", "", " ", "³", "9" * 5000]
)
def test_attempts_refused(text: str) -> None:
    message = f"invalid {ATTEMPTS_ANNOTATION} {text!r}: a whole number from 1 to 100"
    with pytest.raises(SpecError, match=re.escape(message)):
        policy(attempts=text)


# codes


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("500", {500}),
        ("429,500,502,503,504", {429, 500, 502, 503, 504}),
        (" 429 , 503 ", {429, 503}),
        ("500,500", {500}),
        ("100,599", {100, 599}),
        ("404", {404}),
    ],
)
def test_codes(text: str, codes: set[int]) -> None:
    assert policy(codes=text).codes == frozenset(codes)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("99", "99"),
        ("600", "600"),
        ("500,abc", "abc"),
        ("5xx", "5xx"),
        ("500,,502", ""),
        ("500,", ""),
        ("", ""),
        ("500;502", "500;502"),
        ("-500", "-500"),
        ("500.0", "500.0"),
    ],
)
def test_codes_refused(text: str, bad: str) -> None:
    message = f"invalid {CODES_ANNOTATION} {text!r}: {bad!r} is not an HTTP status"
    with pytest.raises(SpecError, match=re.escape(message)):
        policy(codes=text)


# min_wait and max_wait


@pytest.mark.parametrize(
    ("min_wait", "max_wait", "seconds"),
    [
        ("500ms", "2m", (0.5, 120.0)),
        ("2", "2.5", (2.0, 2.5)),
        ("1m", "1h30m", (60.0, 5400.0)),
        ("10s", "10s", (10.0, 10.0)),
    ],
)
def test_waits(min_wait: str, max_wait: str, seconds: tuple[float, float]) -> None:
    read = policy(min_wait=min_wait, max_wait=max_wait)
    assert (read.min_wait, read.max_wait) == pytest.approx(seconds)


def test_one_wait_alone_keeps_the_other_default() -> None:
    assert policy(min_wait="2s") == RetryPolicy(min_wait=2.0)
    assert policy(max_wait="5s") == RetryPolicy(max_wait=5.0)


@pytest.mark.parametrize("name", ["min_wait", "max_wait"])
@pytest.mark.parametrize("text", ["", "soon", "0", "0s", "-1s", "10 s", "inf", "nan"])
def test_waits_refused(name: str, text: str) -> None:
    message = f"invalid com.openfaas.retry.{name} {text!r}: a duration above zero"
    with pytest.raises(SpecError, match=re.escape(message)):
        policy(**{name: text})


def test_min_wait_above_max_wait_is_refused() -> None:
    message = f"invalid {MIN_WAIT_ANNOTATION} '10s': more than {MAX_WAIT_ANNOTATION} '5s'"
    with pytest.raises(SpecError, match=re.escape(message)):
        policy(min_wait="10s", max_wait="5s")


def test_min_wait_above_the_default_max_wait_is_refused() -> None:
    message = f"invalid {MIN_WAIT_ANNOTATION} '1m': more than {MAX_WAIT_ANNOTATION} '30s'"
    with pytest.raises(SpecError, match=re.escape(message)):
        policy(min_wait="1m")


# retries


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_default_codes_are_retried_before_the_last_attempt(status: int) -> None:
    assert RetryPolicy().retries(status, 1)
    assert RetryPolicy().retries(status, 2)
    assert not RetryPolicy().retries(status, 3)
    assert not RetryPolicy().retries(status, 4)


@pytest.mark.parametrize("status", [200, 202, 301, 400, 404, 408, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not RetryPolicy().retries(status, 1)


def test_one_attempt_is_never_retried() -> None:
    assert not RetryPolicy(attempts=1).retries(500, 1)


def test_the_codes_annotation_decides() -> None:
    only_404 = policy(codes="404", attempts="100")
    assert only_404.retries(404, 99)
    assert not only_404.retries(404, 100)
    assert not only_404.retries(500, 1)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_outcomes_retried_by_default(outcome: Outcome) -> None:
    # every failure maps to a status in the default codes; success alone is not retried
    assert RetryPolicy().retries(outcome.http_status, 1) is (outcome is not Outcome.OK)


# backoff


def test_backoff_doubles_from_min_wait_up_to_max_wait() -> None:
    caps = [RetryPolicy().backoff(attempt, high) for attempt in range(1, 9)]
    assert caps == [1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_is_half_fixed_half_random() -> None:
    default = RetryPolicy()
    assert [default.backoff(n, low) for n in (1, 2, 3, 6)] == [0.5, 1, 2, 15]
    assert default.backoff(3, lambda: 0.5) == 3.0


def test_backoff_uses_the_policys_waits() -> None:
    quick = policy(min_wait="100ms", max_wait="250ms")
    assert [quick.backoff(n, high) for n in (1, 2, 3, 4)] == pytest.approx([0.1, 0.2, 0.25, 0.25])


@pytest.mark.parametrize("attempt", [1, 2, 5, 10, 100, 1023, 1024, 1025, 10**6])
def test_backoff_stays_within_its_bounds(attempt: int) -> None:
    rand = random.Random(attempt).random
    for min_wait, max_wait in [(1.0, 30.0), (0.001, 0.001), (1e-9, 1e9), (1e300, 1e308)]:
        wait = RetryPolicy(min_wait=min_wait, max_wait=max_wait).backoff(attempt, rand)
        assert min_wait / 2 <= wait <= max_wait
        assert math.isfinite(wait)


def test_backoff_is_random_by_default() -> None:
    waits = {RetryPolicy().backoff(5) for _ in range(20)}
    assert len(waits) > 1
    assert all(8 <= wait <= 16 for wait in waits)


def test_exponential_backoff_on_its_own() -> None:
    assert exponential_backoff(1, 2.0, 60.0, high) == 2.0
    assert exponential_backoff(4, 2.0, 60.0, high) == 16.0
    assert exponential_backoff(4, 2.0, 60.0, low) == 8.0
    assert exponential_backoff(10, 2.0, 60.0, high) == 60.0


@pytest.mark.parametrize("value", [-1.0, 1.5, math.inf, -math.inf, math.nan])
def test_exponential_backoff_keeps_its_bounds_with_a_bad_rand(value: float) -> None:
    wait = exponential_backoff(3, 1.0, 30.0, lambda: value)
    assert 2.0 <= wait <= 4.0


@pytest.mark.parametrize("attempt", [0, -1])
def test_exponential_backoff_refuses_attempts_below_one(attempt: int) -> None:
    with pytest.raises(ValueError, match="attempt must be 1 or more"):
        exponential_backoff(attempt, 1.0, 30.0)


@pytest.mark.parametrize(("low_wait", "high_wait"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_exponential_backoff_refuses_bad_bounds(low_wait: float, high_wait: float) -> None:
    with pytest.raises(ValueError, match="need 0 < low <= high"):
        exponential_backoff(1, low_wait, high_wait)
