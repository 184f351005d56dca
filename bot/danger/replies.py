"""What a worker reads when the hotline reads danger.

The emergency numbers always (191, 1669, 1300), with the lines that fit the
situation (fire and disasters, help at sea: content brief section 7); for a
doubt, the question whether someone is in danger now, with yes and no. The
words are in the catalogs; this only assembles them.
"""

from __future__ import annotations

from bot.danger.detector import Assessment, Level
from bot.responses import Button, Reply, Responses
from bot.texts import Texts

EMERGENCY_RESPONSE = "utter_emergency"
# The doubt question's buttons; the hotline answers them itself, the engine
# never sees them (a report form in progress stays where it was).
DANGER_YES = "/danger_yes"
DANGER_NO = "/danger_no"
DOUBT_PAYLOADS = frozenset({DANGER_YES, DANGER_NO})
# Extra numbers for a situation, by catalog message id.
SITUATION_NUMBERS = {"fire": "emergency.fire", "sea": "emergency.sea"}
ALARM_TAG = "danger"


class DangerReplies:
    def __init__(self, *, texts: Texts, responses: Responses) -> None:
        self._texts = texts
        self._responses = responses

    def for_alarm(self, assessment: Assessment, language: str) -> list[Reply]:
        numbers = self._responses.render(EMERGENCY_RESPONSE, language).text
        extra = SITUATION_NUMBERS.get(assessment.situation or "")
        if extra is not None:
            numbers = f"{numbers}\n{self._texts.get(language, extra)}"
        replies = [Reply(text=numbers, tag=ALARM_TAG)]
        if assessment.level is Level.DOUBT:
            replies.append(
                Reply(
                    text=self._texts.get(language, "danger_check"),
                    buttons=[
                        Button(self._texts.get(language, "danger_check.yes"), DANGER_YES),
                        Button(self._texts.get(language, "danger_check.no"), DANGER_NO),
                    ],
                    tag=ALARM_TAG,
                )
            )
        return replies

    def answered(self, payload: str, language: str) -> Reply:
        text_id = "danger_confirmed" if payload == DANGER_YES else "danger_denied"
        return Reply(text=self._texts.get(language, text_id))
