"""Rendering console pages: Jinja2 templates (autoescaped) and the headers every page gets.

Pages are rendered on the server and change things through plain forms
carrying the CSRF token; scripts (static files only, never inline) read the
token from `<meta name="csrf-token">` for the JSON API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.console.deps import SignedIn
from api.console_wording import Wording
from bot.labels import FOR_SCRIPT, TABLES, word

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")

# No inline script or style anywhere in the console: what a worker wrote can
# never run even if it slipped past escaping.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # What staff see is sensitive: not kept in shared or browser caches.
    "Cache-Control": "no-store",
}

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def render(
    request: Request,
    template: str,
    *,
    caller: SignedIn | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page in the staff member's language; `caller` fills the
    navigation and the CSRF token for forms."""
    wording = wording_of(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "caller": caller,
            "csrf_token": caller.csrf_token if caller else None,
            "_": wording._,
            "console_language": wording.language,
            "console_languages": request.app.state.hotline.console_wording.languages,
            # Called by the pages that carry the live script, and only there.
            "script_texts": lambda: _script_texts(wording),
            "word": word,
            **context,
        },
        status_code=status_code,
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _script_texts(wording: Wording) -> dict[str, Any]:
    """The live script's words and its codes' words, in one language."""
    return {
        "words": wording.script,
        "labels": {
            name: {code: wording._(english) for code, english in TABLES[name].items()}
            for name in FOR_SCRIPT
        },
    }


def wording_of(request: Request) -> Wording:
    """The console's words for whoever sent this request."""
    wording: Wording = request.app.state.hotline.console_wording.for_request(request)
    return wording
