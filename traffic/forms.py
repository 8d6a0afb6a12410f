import datetime

from django import forms
from django.utils.translation import gettext, gettext_lazy as _

from traffic.dimensions import Granularity, Region, Terminal, period_end, period_start_of
from traffic.importers.base import ImportOptions
from traffic.importers.values import InvalidValue, parse_period_option
from traffic.report.filters import (
    DEFAULT_SERIES,
    MAX_RANGE_DAYS,
    SORT_CHOICES,
    Metric,
    RangePreset,
    ReportFilters,
    preset_days,
    series_choices,
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".xls,.xlsx,.csv,.txt"}))
        # An empty file becomes a failed upload with the importer's message, like any unreadable file.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single_clean = super().clean
        if isinstance(data, (list, tuple)):
            if not data and self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return [single_clean(item, initial) for item in data]
        return [single_clean(data, initial)]


def _optional(choices):
    return [("", _("As the file states"))] + list(choices)


class UploadForm(forms.Form):
    files = MultipleFileField(label=_("Export files"), help_text=_(".xls, .xlsx, .csv or .txt exported from Data Manager; several at once are fine."))
    granularity = forms.ChoiceField(label=_("Granularity"), choices=_optional(Granularity.choices), required=False)
    terminal = forms.ChoiceField(label=_("Terminal"), choices=_optional(Terminal.choices), required=False)
    region = forms.ChoiceField(label=_("Region"), choices=_optional(Region.choices), required=False)
    period = forms.CharField(
        label=_("Period"),
        required=False,
        max_length=40,
        help_text=_("Only for files without a period in their title, for example 2026-11-16~2026-11-22."),
    )

    def clean_period(self):
        text = self.cleaned_data["period"].strip()
        if not text:
            return None
        try:
            return parse_period_option(text)
        except InvalidValue as exc:
            raise forms.ValidationError(gettext(exc.message)) from None

    def import_options(self):
        return ImportOptions(
            granularity=self.cleaned_data["granularity"],
            terminal=self.cleaned_data["terminal"],
            region=self.cleaned_data["region"],
            period=self.cleaned_data["period"],
        )


class ReportFilterForm(forms.Form):
    """The traffic page's filters. Every field has a default, so a bare URL works.

    An invalid value falls back to its default and its error is shown beside the filters.
    """

    granularity = forms.ChoiceField(label=_("Granularity"), choices=Granularity.choices, required=False)
    range = forms.ChoiceField(label=_("Range"), choices=RangePreset.choices, required=False)
    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)
    # A single period, as links from an upload give it; it becomes a custom range of that period.
    period = forms.DateField(label=_("Period"), required=False)
    terminal = forms.ChoiceField(label=_("Terminal"), choices=Terminal.choices, required=False)
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices, required=False)
    sort = forms.ChoiceField(label=_("Sort"), choices=[(key, key) for key in SORT_CHOICES], required=False)
    metric = forms.ChoiceField(label=_("Chart metric"), choices=Metric.choices, required=False)
    series = forms.MultipleChoiceField(label=_("Chart sources"), choices=(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = series_choices()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if cleaned.get("range") != RangePreset.CUSTOM:
            return cleaned

        if self.has_error("start") or self.has_error("end"):
            # An invalid date has its own message already.
            return cleaned
        if not start or not end:
            self.add_error("end", gettext("A custom range needs both a first and a last day."))
        elif start > end:
            self.add_error("end", gettext("The last day of the range is before its first day. Swap the two dates."))
        elif (end - start).days + 1 > MAX_RANGE_DAYS:
            self.add_error(
                "end",
                gettext("The range is longer than %(days)d days. Choose a shorter range.") % {"days": MAX_RANGE_DAYS},
            )
        return cleaned

    @property
    def has_range_errors(self) -> bool:
        """Return whether the custom range was rejected, so the page shows the dates as the user typed them."""
        is_custom = self.data.get("range") == RangePreset.CUSTOM
        return is_custom and (self.has_error("start") or self.has_error("end"))

    def valid_value(self, name, default=None):
        """Return the cleaned value of one field, or the default when it is missing or invalid."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        if name in self.errors:
            return default
        return self.cleaned_data.get(name) or default

    def filters(self, store, today, default_granularity, newest_period) -> ReportFilters:
        """Resolve the form to ReportFilters in the store's reporting time zone.

        newest_period(granularity, terminal, region) returns the newest period start with data, or None.
        """
        granularity = self.valid_value("granularity") or default_granularity
        terminal = self.valid_value("terminal", Terminal.ALL)
        region = self.valid_value("region", Region.ALL)
        preset = self.valid_value("range")
        period = self.valid_value("period")

        first_day = last_day = None
        if preset is None and period is not None:
            preset = RangePreset.CUSTOM
            first_day = period_start_of(granularity, period)
            last_day = period_end(granularity, first_day)
        elif preset == RangePreset.CUSTOM and "end" not in self.errors and "start" not in self.errors:
            first_day, last_day = self.cleaned_data["start"], self.cleaned_data["end"]
        elif preset not in (None, RangePreset.LATEST, RangePreset.CUSTOM):
            first_day, last_day = preset_days(preset, today)

        if first_day is None:
            preset = RangePreset.LATEST
            newest = newest_period(granularity, terminal, region)
            if newest is not None:
                first_day, last_day = newest, period_end(granularity, newest)

        return ReportFilters(
            granularity=granularity,
            terminal=terminal,
            region=region,
            preset=preset,
            first_day=first_day,
            last_day=last_day,
            sort=self.valid_value("sort", ""),
            metric=self.valid_value("metric", Metric.VISITORS),
            series=tuple(self.valid_value("series", DEFAULT_SERIES)),
            last_complete_day=today - datetime.timedelta(days=1),
        )
