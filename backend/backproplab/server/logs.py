"""Tokens never reach the log: uvicorn logs every request's path with its query string (the access log,
and "WebSocket /ws/runs/{id}?..." lines), so a token someone put in a URL would be written there, although
the server ignores tokens in URLs. :class:`RedactTokens` blanks them out of those lines."""

from __future__ import annotations

import logging
import re

from .identities.tokens import TOKEN_PREFIX

REDACTED = "[redacted]"
# A token's value in a query (?token=, &access_token=), and anything shaped like one of our tokens.
_SECRETS = re.compile(
    rf"(?P<key>[?&;](?:access_)?token=)[^&;\s\"']*|{re.escape(TOKEN_PREFIX)}[A-Za-z0-9_\-]+", re.IGNORECASE
)
LOGGERS = ("uvicorn.access", "uvicorn.error")  # the ones that write request paths


def redact(text: str) -> str:
    return _SECRETS.sub(lambda match: (match["key"] or TOKEN_PREFIX) + REDACTED, text)


class RedactTokens(logging.Filter):
    """Blanks tokens in a record's message and in each of its text arguments, in place: uvicorn's access
    formatter reads the arguments themselves (client, method, path, version, status), so they stay there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def redact_tokens() -> None:
    """Install the filter on uvicorn's loggers (once; they outlive an app)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(each, RedactTokens) for each in logger.filters):
            logger.addFilter(RedactTokens())
