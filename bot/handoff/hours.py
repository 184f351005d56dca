"""When staff are in: business hours such as "Mon-Fri 08:00-17:00; Sat 09:00-12:00".

A worker who asks for a person at night must hear at once that nobody is in
and which numbers answer around the clock, rather than wait for a reply that
cannot come before morning. Hours are read in the hotline's time zone
(Asia/Bangkok), whatever the server's own clock says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# "always" (or nothing at all) means staff answer around the clock.
ALWAYS = "always"
_PART = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$"
)


class InvalidBusinessHours(ValueError):
    pass


@dataclass(frozen=True)
class Opening:
    days: frozenset[int]  # Monday is 0, as datetime.weekday() counts
    start: time
    end: time

    def covers(self, moment: datetime) -> bool:
        return moment.weekday() in self.days and self.start <= moment.time() < self.end


def _clock(value: str, spec: str) -> time:
    hours, minutes = (int(part) for part in value.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise InvalidBusinessHours(f"no such time {value!r} in {spec!r}")
    return time(hours, minutes)


def _day(name: str, spec: str) -> int:
    try:
        return DAYS.index(name)
    except ValueError:
        raise InvalidBusinessHours(f"unknown day {name!r} in {spec!r}") from None


class BusinessHours:
    def __init__(self, openings: list[Opening] | None, timezone: str) -> None:
        # None: always open.
        self._openings = openings
        self.zone = ZoneInfo(timezone)

    @classmethod
    def parse(cls, spec: str, timezone: str) -> BusinessHours:
        text = spec.strip().lower()
        if text in ("", ALWAYS):
            return cls(None, timezone)
        openings = []
        for part in re.split(r"[;,]", text):
            match = _PART.match(part.strip())
            if match is None:
                raise InvalidBusinessHours(f"cannot read {part.strip()!r} in {spec!r}")
            first = _day(match["first"], spec)
            last = _day(match["last"] or match["first"], spec)
            # "Sat-Mon" wraps over the week's end.
            days = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
            start, end = _clock(match["start"], spec), _clock(match["end"], spec)
            if end <= start:
                raise InvalidBusinessHours(f"{part.strip()!r} ends before it starts")
            openings.append(Opening(days=frozenset(days), start=start, end=end))
        return cls(openings, timezone)

    def open_at(self, moment: datetime) -> bool:
        if self._openings is None:
            return True
        local = moment.astimezone(self.zone)
        return any(opening.covers(local) for opening in self._openings)
