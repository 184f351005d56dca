"""The supervisors' figures, each reading one unit of work with its audit entry.

Counts and durations only: nothing here reads a worker's words, so the
figures may go to a spreadsheet. Who may read them (supervisors and admins)
is the console's to check; the reading is on record either way.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.access import Viewer
from bot.staff import audit
from bot.stats import queries
from bot.stats.queries import Durations, Figures, StatsFilter


class Statistics:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        timezone: str,
        default_language: str,
    ) -> None:
        self._sessions = sessions
        self._timezone = timezone
        self._default_language = default_language

    async def figures(
        self, *, viewer: Viewer, wanted: StatsFilter, action: str = "stats.view"
    ) -> Figures:
        """The period's figures; the reading is audited (`action`: view or export)."""
        async with self._sessions.begin() as session:
            found = await queries.figures(
                session=session,
                wanted=wanted,
                timezone=self._timezone,
                default_language=self._default_language,
            )
            await audit.record(
                session=session,
                staff_id=viewer.id,
                action=action,
                object_type="stats",
                object_id=None,
                detail={"filter": wanted.as_detail(), "messages": found.messages},
            )
        return found

    async def csv(self, *, viewer: Viewer, wanted: StatsFilter) -> str:
        """The same figures as one tidy table: figure, period, key, value."""
        return as_csv(await self.figures(viewer=viewer, wanted=wanted, action="stats.export"))


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def as_csv(found: Figures) -> str:
    out = io.StringIO()
    write = csv.writer(out, lineterminator="\n").writerow
    write(["figure", "period", "key", "value"])
    for name, value in found.wanted.as_detail().items():
        write(["filter", "", name, value])
    for bucket in found.series:
        write(["messages", bucket.start.isoformat(), "", bucket.messages])
        write(["workers", bucket.start.isoformat(), "", bucket.workers])
    write(["messages", "total", "", found.messages])
    write(["workers", "total", "", found.workers])
    for table, counts in (
        ("intent", found.by_intent),
        ("language", found.by_language),
        ("channel", found.by_channel),
    ):
        for key, count in counts.items():
            write([table, "total", key, count])
    write(["engine", "total", "read", found.read_by_engine])
    write(["engine", "total", "not_understood", found.not_understood])
    share = found.not_understood_share
    write(["engine", "total", "not_understood_share", "" if share is None else f"{share:.4f}"])
    write(["handoffs", "total", "count", found.handoffs])
    write(["handoffs", "total", "unclaimed", found.unclaimed])
    times: tuple[tuple[str, Durations], ...] = (("wait", found.wait), ("handling", found.handling))
    for name, measured in times:
        write([f"{name}_seconds", "total", "count", measured.count])
        write([f"{name}_seconds", "total", "median", _seconds(measured.median)])
        write([f"{name}_seconds", "total", "p90", _seconds(measured.p90)])
    return out.getvalue()
