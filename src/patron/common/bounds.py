"""Bounds on values a user gives, checked by the services so that pages, API and imports agree."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

# Before 1900 no customer bought or was called: an earlier date is a typo (or "0001-01-01",
# a spreadsheet's empty date). It also keeps far from year 1, which a zone east of UTC turns
# into a time before the calendar starts (OverflowError on the way to the database).
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
# Something that happened may carry a time a little ahead of the server's clock: the
# sender's clock, or the minute a form was filled in.
CLOCK_SKEW = dt.timedelta(minutes=5)


def decimal_limit(model: type[models.Model], name: str) -> Decimal:
    """The first value too large for the decimal column `name` of `model` (1e12 for 14 digits, 2 decimals)."""
    field = model._meta.get_field(name)
    return Decimal(10) ** (field.max_digits - field.decimal_places)


def check_not_negative(value: object, *, field: str, message: str) -> None:
    """Refuse, on `field`, an amount below zero. An empty value, or one that is no number (as
    a service may be given "5000"), is left to the field's own check."""
    try:
        amount = Decimal(str(value).strip()) if value not in (None, "") else None
    except ArithmeticError:  # InvalidOperation: not a number
        return
    if amount is not None and not amount.is_nan() and amount < 0:
        raise ValidationError({field: message})


def check_happened(value: dt.datetime, *, field: str, too_early: str, too_late: str,
                   now: dt.datetime | None = None) -> None:
    """Refuse, on `field`, a moment something happened at that is before 1900 or in the future."""
    if value < EARLIEST:
        raise ValidationError({field: too_early})
    if value > (now or timezone.now()) + CLOCK_SKEW:
        raise ValidationError({field: too_late})


def check_between(value: dt.datetime, *, field: str, earliest: dt.datetime, latest: dt.datetime,
                  message: str) -> None:
    """Refuse, on `field`, a moment outside [earliest, latest]."""
    if not earliest <= value <= latest:
        raise ValidationError({field: message})


def unstorable(value: object) -> ValidationError:
    """The refusal of a date or moment the database cannot hold, naming what the user gave."""
    return ValidationError(_("%(value)s is outside the dates that can be stored."), params={"value": value})


def check_storable(moment: dt.datetime, *, value: object) -> None:
    """Refuse a moment that cannot be moved to UTC, where every column and query holds it: the
    first hours of year 1 east of UTC (Asia/Shanghai) lie before the calendar there, and the
    conversion raised OverflowError (a 500). `value` is what the user gave, for the message."""
    try:
        moment.astimezone(dt.UTC)
    except OverflowError:
        raise unstorable(value) from None


def day_start(day: dt.date, *, tz: dt.tzinfo, days_later: int = 0) -> dt.datetime:
    """The midnight that starts `day`, or the day `days_later` after it, on the clock of `tz`,
    refused as `check_storable` does when it cannot be stored (also the day after 9999-12-31,
    which does not exist: an inclusive end date filters up to the next midnight)."""
    try:
        moment = dt.datetime.combine(day + dt.timedelta(days=days_later), dt.time.min, tzinfo=tz)
    except OverflowError:
        raise unstorable(day) from None
    check_storable(moment, value=day)
    return moment
