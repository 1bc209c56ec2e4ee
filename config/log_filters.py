"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging


class RefusalWithoutTraceback(logging.Filter):
    """A 403 is a role check doing its job, yet Django logs the PermissionDenied behind it with its
    whole traceback, so every refused click filled the log with a stack an operator could mistake for a
    crash. The one line ("Forbidden (Permission denied): /audit/") says all there is to say."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
