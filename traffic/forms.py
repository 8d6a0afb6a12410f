from django import forms
from django.utils.translation import gettext, gettext_lazy as _

from traffic.dimensions import Granularity, Region, Terminal
from traffic.importers.base import ImportOptions
from traffic.importers.values import InvalidValue, parse_period_option


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
    """The traffic page's filters; every field has a default so a bare URL works."""

    granularity = forms.ChoiceField(label=_("Granularity"), choices=Granularity.choices, required=False)
    terminal = forms.ChoiceField(label=_("Terminal"), choices=Terminal.choices, required=False)
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices, required=False)
    period = forms.DateField(label=_("Period"), required=False)

    def cleaned_or_default(self):
        data = self.cleaned_data if self.is_valid() else {}
        return (
            data.get("granularity") or Granularity.DAY,
            data.get("terminal") or Terminal.ALL,
            data.get("region") or Region.ALL,
            data.get("period"),
        )
