import datetime as dt
import functools
import re
import uuid
import zoneinfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


@functools.cache
def time_zone_names() -> list[str]:
    """The IANA zone names this machine knows, sorted (Asia/Shanghai, Europe/Berlin, UTC ...)."""
    return sorted(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError(_("“%(value)s” is not a time zone name, such as Asia/Shanghai."),
                              code="invalid", params={"value": value})


def validate_phone_region(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(_("“%(value)s” is not a region code for phone numbers, such as CN."),
                              code="invalid", params={"value": value})


def validate_currency(value: str) -> None:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValidationError(_("“%(value)s” is not a currency code of three capital letters, such as CNY."),
                              code="invalid", params={"value": value})


def validate_language(value: str) -> None:
    if value not in dict(settings.LANGUAGES):
        raise ValidationError(_("“%(value)s” is not a language Patron speaks."), code="invalid",
                              params={"value": value})


class Organization(models.Model):
    """A tenant: one company using Patron. A single-company install simply has one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    # The team's clock: its business day, the times on its pages, its periods and "as of" dates.
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai",
                                 validators=[validate_time_zone])
    currency = models.CharField(_("currency"), max_length=3, default="CNY", validators=[validate_currency])
    # ISO 3166 region used to read phone numbers written without a country code.
    phone_region = models.CharField(_("phone region"), max_length=2, default="CN",
                                    validators=[validate_phone_region])
    language = models.CharField(_("language"), max_length=10, default="zh-hans", validators=[validate_language])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> dt.tzinfo:
        """The organisation's time zone; UTC if the stored name is not one (the services
        validate it, but a row edited by hand must not take every page down)."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return dt.UTC

    def today(self) -> dt.date:
        """The date it is now where the organisation works: the default "as of" of its scores
        and the day its periods are counted from. Not the server's date: at 00:30 in Shanghai
        the server (UTC) is still on the day before, and an order placed that morning would be
        left out of a rescore "as of today"."""
        return timezone.localdate(timezone=self.zone)


class Counter(models.Model):
    """Per-organisation counters behind human-readable numbers such as C000123."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=40)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="counter_org_key_uniq")
        ]

    @classmethod
    def take(cls, organization_id: uuid.UUID, key: str, count: int = 1) -> int:
        """Reserve `count` numbers and return the first; safe under concurrent writers.

        The conditional UPDATE takes the row lock, so two transactions never get the same
        range; the row is created on first use.
        """
        with transaction.atomic():
            cls.objects.get_or_create(organization_id=organization_id, key=key)
            cls.objects.filter(organization_id=organization_id, key=key).update(
                value=F("value") + count
            )
            last = cls.objects.get(organization_id=organization_id, key=key).value
        return last - count + 1
