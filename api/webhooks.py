"""Every channel's webhook: one route, answered the same way for all of them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from api.state import StateDep
from bot.channels.base import Refusal, WebhookRefused

# What a refused webhook is answered with. Nothing of it was kept.
REFUSAL_STATUS = {
    Refusal.UNSIGNED: status.HTTP_401_UNAUTHORIZED,
    Refusal.WRONG_PROOF: status.HTTP_403_FORBIDDEN,
    Refusal.MALFORMED: status.HTTP_400_BAD_REQUEST,
}


router = APIRouter(tags=["channels"])


@router.post("/webhooks/{name}", include_in_schema=False)
async def webhook(name: str, request: Request, state: StateDep) -> Response:
    channel = state.channels.get(name)
    if channel is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such channel here")
    try:
        await channel.accept(await request.body(), request.headers, state.intake)
    except WebhookRefused as refused:
        raise HTTPException(REFUSAL_STATUS[refused.refusal], refused.reason) from None
    # On disk: the platform may have its 200; storing and answering follow.
    return Response(status_code=status.HTTP_200_OK)
