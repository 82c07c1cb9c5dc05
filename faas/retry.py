"""The retry policy of async calls, read from a function's annotations as in OpenFaaS Pro."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from faas.durations import parse_duration
from faas.errors import SpecError

ATTEMPTS_ANNOTATION = "com.openfaas.retry.attempts"
CODES_ANNOTATION = "com.openfaas.retry.codes"
MIN_WAIT_ANNOTATION = "com.openfaas.retry.min_wait"
MAX_WAIT_ANNOTATION = "com.openfaas.retry.max_wait"
ANNOTATIONS = (ATTEMPTS_ANNOTATION, CODES_ANNOTATION, MIN_WAIT_ANNOTATION, MAX_WAIT_ANNOTATION)

MAX_ATTEMPTS = 100
DEFAULT_CODES = "429,500,502,503,504"
DEFAULT_MIN_WAIT = "1s"
DEFAULT_MAX_WAIT = "30s"

# At most 9 digits: int() of a very long digit string is slow, then refused by Python.
_WHOLE = re.compile(r"[0-9]{1,9}")
# 2.0 ** 1024 overflows; by then any finite `low` has long reached `high`.
_MAX_EXPONENT = 1000


def exponential_backoff(
    attempt: int, low: float, high: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after `attempt` (1-based): low * 2**(attempt-1) up to high, equal jitter."""
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, not {attempt}")
    if not 0 < low <= high:
        raise ValueError(f"need 0 < low <= high, not low={low} high={high}")
    cap = min(high, low * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
    jitter = max(0.0, min(1.0, rand()))  # a bad `rand` (even NaN) must not break the bounds
    return cap / 2 + jitter * cap / 2


@dataclass(frozen=True)
class RetryPolicy:
    """How many times an async call is run, on which statuses, and how long to wait between."""

    attempts: int = 3
    codes: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    min_wait: float = 1.0
    max_wait: float = 30.0

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str]) -> RetryPolicy:
        """Read the `com.openfaas.retry.*` annotations; raise SpecError naming a bad one."""
        min_raw = annotations.get(MIN_WAIT_ANNOTATION, DEFAULT_MIN_WAIT)
        max_raw = annotations.get(MAX_WAIT_ANNOTATION, DEFAULT_MAX_WAIT)
        min_wait = _duration(MIN_WAIT_ANNOTATION, min_raw)
        max_wait = _duration(MAX_WAIT_ANNOTATION, max_raw)
        if min_wait > max_wait:
            raise SpecError(
                f"invalid {MIN_WAIT_ANNOTATION} {min_raw!r}: "
                f"more than {MAX_WAIT_ANNOTATION} {max_raw!r}"
            )
        return cls(
            attempts=_attempts(annotations.get(ATTEMPTS_ANNOTATION)),
            codes=_codes(annotations.get(CODES_ANNOTATION, DEFAULT_CODES)),
            min_wait=min_wait,
            max_wait=max_wait,
        )

    def retries(self, status: int, attempt: int) -> bool:
        """Whether a call that ended with `status` on attempt `attempt` (1-based) runs again."""
        return status in self.codes and attempt < self.attempts

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before attempt `attempt + 1`."""
        return exponential_backoff(attempt, self.min_wait, self.max_wait, rand)


def _attempts(raw: str | None) -> int:
    if raw is None:
        return RetryPolicy.attempts
    text = str(raw).strip()
    if not _WHOLE.fullmatch(text) or not 1 <= int(text) <= MAX_ATTEMPTS:
        raise SpecError(
            f"invalid {ATTEMPTS_ANNOTATION} {raw!r}: a whole number from 1 to {MAX_ATTEMPTS}"
        )
    return int(text)


def _codes(raw: str) -> frozenset[int]:
    codes = set()
    for item in str(raw).split(","):
        text = item.strip()
        if not _WHOLE.fullmatch(text) or not 100 <= int(text) <= 599:
            raise SpecError(
                f"invalid {CODES_ANNOTATION} {raw!r}: {text!r} is not an HTTP status; "
                "write e.g. 429,500,502,503,504"
            )
        codes.add(int(text))
    return frozenset(codes)


def _duration(name: str, raw: str) -> float:
    try:
        return parse_duration(raw)
    except SpecError:
        raise SpecError(
            f"invalid {name} {raw!r}: a duration above zero, e.g. 500ms, 1s, 2m"
        ) from None
