"""Filters for Patron's logs."""

import copy
import logging


class RefusalsWithoutTraceback(logging.Filter):
    """A 403 (someone opened a page their role does not allow) is an ordinary event, logged as
    one line: Django attaches the PermissionDenied's traceback, which filled the log with
    dozens of lines per refusal and hid the tracebacks of real errors."""

    def filter(self, record: logging.LogRecord) -> logging.LogRecord | bool:
        if getattr(record, "status_code", None) != 403 or not record.exc_info:
            return True
        # A copy for this handler only: other handlers (a file, an error tracker) keep it whole.
        quiet = copy.copy(record)
        quiet.exc_info, quiet.exc_text = None, None
        return quiet
