"""Custom actions the engine calls through the app's action endpoint.

Actions are built with the app's services (no clients at import time) and
registered with rasa-sdk's executor in `api.engine_hooks`.
"""

from __future__ import annotations

from rasa_sdk import Action

from flows.actions.context import ActionContext
from flows.actions.fallback import ActionNotUnderstood
from flows.actions.greeting import ActionGreet
from flows.actions.language import ActionSetLanguage
from flows.actions.rights import ActionAnswerRights, MinimumWages


def build_actions(context: ActionContext) -> list[Action]:
    wages = MinimumWages(context.settings.hotline_content_dir / "minimum_wage.yml")
    return [
        ActionGreet(context),
        ActionSetLanguage(context),
        ActionNotUnderstood(),
        ActionAnswerRights(wages),
    ]
