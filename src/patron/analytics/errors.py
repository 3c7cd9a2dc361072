"""The errors the analytics core raises; services turn them into messages a user understands."""


class AnalyticsError(Exception):
    """Base class of every error raised by `patron.analytics`."""


class InputError(AnalyticsError, ValueError):
    """The input is malformed: a missing column, a bad value, a date after `as_of`.

    `row` and `column` name the offending place when it is known (row numbers are 1-based,
    counting data rows of the original input).
    """

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        self.row = row
        self.column = column
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class InsufficientDataError(AnalyticsError):
    """The data are well formed but cannot support the analysis (e.g. no repeat buyers)."""


class ConvergenceError(AnalyticsError):
    """A likelihood maximisation did not converge to a finite optimum."""


class NotFittedError(AnalyticsError):
    """An estimator was used before `fit()`."""
