"""Danger detection: someone may be in danger now, whatever else a message says."""

from bot.danger import alarms
from bot.danger.detector import (
    CALM,
    Assessment,
    DangerDetector,
    Level,
    Signal,
    Thresholds,
)
from bot.danger.words import DangerWords

__all__ = [
    "CALM",
    "Assessment",
    "DangerDetector",
    "DangerWords",
    "Level",
    "Signal",
    "Thresholds",
    "alarms",
]
