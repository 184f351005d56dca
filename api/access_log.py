"""What the access log may say about the web chat: the path, never the query.

uvicorn logs every request as `client - "METHOD path?query HTTP/x" status`.
The web chat's page asks for staff replies every few seconds, and pages
and clients made before the identity cookie put the worker's id in the
query string; whatever a query holds there, it stays out of the logs. The
filter sits on uvicorn's access logger, whichever way uvicorn was started.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"
# Paths whose query string is never logged.
QUIET_PREFIXES = ("/webchat/", "/webchat?", "/chat")


class QuietQueries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client, method, path with query, version, status).
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = args[2]
            if path.startswith(QUIET_PREFIXES) and "?" in path:
                record.args = (args[0], args[1], path.split("?", 1)[0], args[3], args[4])
        return True


def install() -> None:
    """Put the filter on uvicorn's access logger, once."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, QuietQueries) for existing in logger.filters):
        logger.addFilter(QuietQueries())
