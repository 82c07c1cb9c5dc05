"""The five fields of a cron expression: the values each one's text matches."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from faas.errors import SpecError

_WHOLE = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Field:
    """One of the five positions of a cron expression."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] stands for low + i
    what: str = ""  # what the names are, for messages

    def parse(self, text: str) -> tuple[frozenset[int], bool]:
        """The values `text` matches, and whether it is unrestricted (`*`)."""
        items = text.split(",")
        if "" in items:
            raise SpecError(f"{self.name} has an empty item")
        values = frozenset(value for item in items for value in self._item(item))
        # As Vixie cron and robfig/cron do: only a bare star leaves the field unrestricted.
        return values, any(item in ("*", "*/1") for item in items)

    def _item(self, item: str) -> range:
        base, slash, step_text = item.partition("/")
        step = self._step(step_text) if slash else 1
        if base == "*":
            return range(self.low, self.high + 1, step)
        first, dash, last = base.partition("-")
        low = self._value(first)
        high = self._value(last) if dash else self.high if slash else low
        if low > high:
            raise SpecError(f"{self.name} range {base} is backwards")
        return range(low, high + 1, step)

    def _step(self, text: str) -> int:
        if not _WHOLE.fullmatch(text):
            raise SpecError(f'{self.name} step "{text}" is not a number')
        if int(text) < 1:
            raise SpecError(f"{self.name} step {text} must be 1 or more")
        return int(text)

    def _value(self, text: str) -> int:
        if _WHOLE.fullmatch(text):
            value = int(text)
            if not self.low <= value <= self.high:
                raise SpecError(f"{self.name} {value} is out of range {self.low}-{self.high}")
            return value
        if text.lower() in self.names:
            return self.low + self.names.index(text.lower())
        hint = f" or {self.what} ({self.names[0]}-{self.names[-1]})" if self.names else ""
        raise SpecError(f'{self.name} "{text}" is not a number{hint}')


MINUTES = Field("minute", 0, 59)
HOURS = Field("hour", 0, 23)
DAYS = Field("day-of-month", 1, 31)
MONTHS = Field(
    "month", 1, 12, tuple(name.lower() for name in calendar.month_abbr[1:]), "a month name"
)
WEEKDAYS = Field(
    "day-of-week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat"), "a day name"
)
