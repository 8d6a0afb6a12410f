"""The dimensions every traffic figure is keyed on."""

import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _


class Granularity(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")


class Terminal(models.TextChoices):
    ALL = "all", _("All terminals")
    PC = "pc", _("PC")
    WIRELESS = "wireless", _("Wireless")


class Region(models.TextChoices):
    ALL = "all", _("All traffic")
    EXCLUDE_CN = "exclude_cn", _("Excluding mainland China")


def period_end(granularity: str, period_start: datetime.date) -> datetime.date:
    """Return the last day of the natural day, week (Monday to Sunday) or month that starts here."""
    if granularity == Granularity.DAY:
        return period_start
    if granularity == Granularity.WEEK:
        return period_start + datetime.timedelta(days=6)

    next_month = (period_start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return next_month - datetime.timedelta(days=1)


def natural_period(start: datetime.date, end: datetime.date) -> str | None:
    """Return the granularity whose natural period is exactly start..end, or None."""
    if start == end:
        return Granularity.DAY
    if start.weekday() == 0 and end == start + datetime.timedelta(days=6):
        return Granularity.WEEK
    if start.day == 1 and end == period_end(Granularity.MONTH, start):
        return Granularity.MONTH
    return None


def period_start_of(granularity: str, day: datetime.date) -> datetime.date:
    """Return the first day of the natural period of this granularity that contains day."""
    if granularity == Granularity.WEEK:
        return day - datetime.timedelta(days=day.weekday())
    if granularity == Granularity.MONTH:
        return day.replace(day=1)
    return day


def period_label(granularity: str, period_start: datetime.date) -> str:
    """Return how a period reads on screen: 2026-11-03, 2026-11-02 ~ 2026-11-08 or 2026-10."""
    if granularity == Granularity.MONTH:
        return period_start.strftime("%Y-%m")
    if granularity == Granularity.WEEK:
        return f"{period_start.isoformat()} ~ {period_end(granularity, period_start).isoformat()}"
    return period_start.isoformat()
