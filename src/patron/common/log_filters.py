"""Filters for Patron's logs."""

import logging


class RefusalsWithoutTraceback(logging.Filter):
    """A 403 (someone opened a page their role does not allow) is an ordinary event, logged as
    one line: Django attaches the PermissionDenied's traceback, which filled the log with
    dozens of lines per refusal and hid the tracebacks of real errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
