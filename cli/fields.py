"""Reading one JSON answer of the gateway, a field at a time, saying what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from faas.errors import GatewayError

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


class MalformedAnswer(GatewayError):
    """The gateway answered with a success status, but not in the shape its API describes."""

    def __init__(self, what: str, problem: str) -> None:
        super().__init__(200, f"the gateway sent a malformed {what}: {problem}")

    def __str__(self) -> str:
        return self.message


class Fields:
    """One JSON object of an answer, read a field at a time; null or missing is the default.

    Fields a newer gateway added are not read; a field of the wrong type is refused.
    """

    def __init__(self, what: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise MalformedAnswer(what, f"{kind(data)}, not an object")
        self.what = what
        self.data = data

    def _get(self, key: str, types: tuple[type, ...], expected: str, default: Any) -> Any:
        value = self.data.get(key)
        if value is None:
            return default
        if not _is(value, types):
            raise MalformedAnswer(self.what, f"{key!r} is {kind(value)}, not {expected}")
        return value

    def required(self, key: str) -> str:
        value = self.optional_string(key)
        if value is None:
            raise MalformedAnswer(self.what, f"{key!r} is missing")
        return value

    def string(self, key: str, default: str = "") -> str:
        value: str = self._get(key, (str,), "a string", default)
        return value

    def optional_string(self, key: str) -> str | None:
        value: str | None = self._get(key, (str,), "a string", None)
        return value

    def integer(self, key: str, default: int = 0) -> int:
        value: int = self._get(key, (int,), "a whole number", default)
        return value

    def optional_integer(self, key: str) -> int | None:
        value: int | None = self._get(key, (int,), "a whole number", None)
        return value

    def number(self, key: str, default: float = 0) -> float:
        """A number as sent: a whole one stays an int, so it shows without `.0`."""
        value: float = self._get(key, (int, float), "a number", default)
        return value

    def optional_number(self, key: str) -> float | None:
        value: float | None = self._get(key, (int, float), "a number", None)
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value: bool = self._get(key, (bool,), "true or false", default)
        return value

    def strings(self, key: str) -> list[str]:
        value: list[Any] = self._get(key, (list,), "a list", [])
        if not all(isinstance(item, str) for item in value):
            raise MalformedAnswer(self.what, f"{key!r} is not a list of strings")
        return list(value)

    def string_map(self, key: str) -> dict[str, str]:
        value: dict[str, Any] = self._get(key, (dict,), "an object", {})
        if not all(isinstance(item, str) for item in value.values()):
            raise MalformedAnswer(self.what, f"{key!r} is not an object of strings")
        return dict(value)

    def choice(self, key: str, enum: type[E], default: E | None = None) -> E:
        """One of the enum's values; required unless there is a default."""
        value = self.optional_string(key)
        if value is None:
            if default is None:
                raise MalformedAnswer(self.what, f"{key!r} is missing")
            return default
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise MalformedAnswer(
                self.what, f"{key!r} is {value!r}, not one of {allowed}"
            ) from None

    def part(self, key: str) -> Fields:
        """A nested object; an empty one when it is missing."""
        value = self.data.get(key)
        return Fields(f"{self.what}'s {key!r}", {} if value is None else value)


def listing(data: Any, what: str, read: Callable[[Any], T]) -> list[T]:
    """A list answer, each item read by `read`."""
    if not isinstance(data, list):
        raise MalformedAnswer(f"list of {what}", f"{kind(data)}, not a list")
    return [read(item) for item in data]


def _is(value: Any, types: tuple[type, ...]) -> bool:
    """isinstance, but a boolean is no number here (in Python it is an int)."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def kind(value: Any) -> str:
    """What a JSON value is, for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"
