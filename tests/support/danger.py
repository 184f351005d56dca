"""What the danger tests share: messages whose danger shows only together."""

from __future__ import annotations

from bot.danger.model import DangerModel

# A calm message and one after it; together they may tell of danger.
CONTEXT_PAIRS = [
    ("last year my boss locked us in the dorm, I ran away", "he called me today"),
    ("last year my boss locked us in the dorm, I ran away", "he knows where I live now"),
    ("my husband beat me last month, I left him and stay with my sister", "he found the house"),
    ("the broker hit me before, I moved to a new factory", "I see his car outside"),
]


def context_pair(model: DangerModel) -> tuple[str, str, float]:
    """The first pair that says more together than either message alone, and
    a doubt line between the two scores (so only the two together cross it)."""
    for previous, now in CONTEXT_PAIRS:
        alone = max(model.urgency(previous.lower()), model.urgency(now.lower()))
        together = model.urgency(f"{previous}\n{now}".lower())
        if together > alone:
            return previous, now, (alone + together) / 2
    raise AssertionError("no pair says more together than alone")
