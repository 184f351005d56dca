"""Custom actions the engine calls through the app's action endpoint.

Actions are built with the app's services (no clients at import time) and
registered with rasa-sdk's executor in `api.engine_hooks`.
"""

from __future__ import annotations

from rasa_sdk import Action

from bot.cases.indicators import ForcedLabourIndicators
from flows.actions.cases import ActionCaseStatus
from flows.actions.context import ActionContext
from flows.actions.fallback import ActionNotUnderstood
from flows.actions.greeting import ActionGreet
from flows.actions.handoff import ActionHandToStaff
from flows.actions.language import ActionSetLanguage
from flows.actions.privacy import ActionRequestDeletion
from flows.actions.report import (
    CORRECTION,
    QUESTIONS,
    ActionAskReport,
    ActionCancelReport,
    ActionResetReport,
    ActionResumeReport,
    ActionStartReport,
    ActionSubmitReport,
    ValidateReportForm,
)
from flows.actions.rights import ActionAnswerRights, ActionAnswerRightsInReport, MinimumWages


def build_actions(context: ActionContext) -> list[Action]:
    content = context.settings.hotline_content_dir
    wages = MinimumWages(content / "minimum_wage.yml")
    indicators = ForcedLabourIndicators(content / "forced_labour_indicators.yml")
    return [
        ActionGreet(context),
        ActionSetLanguage(context),
        ActionNotUnderstood(),
        ActionAnswerRights(wages),
        ActionAnswerRightsInReport(wages),
        ValidateReportForm(context),
        *[ActionAskReport(context, slot) for slot in (*QUESTIONS, CORRECTION)],
        ActionStartReport(),
        ActionResumeReport(),
        ActionResetReport(),
        ActionCancelReport(),
        ActionSubmitReport(context, indicators),
        ActionHandToStaff(context),
        ActionCaseStatus(context),
        ActionRequestDeletion(context),
    ]
