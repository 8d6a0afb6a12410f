from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Industry, Store
from benchmarks.comparison import Scope
from benchmarks.models import MethodSettings, SizeBand
from traffic.dimensions import Granularity, Region, Terminal

# Cohorts are natural weeks and months; days are too noisy to compare stores.
COHORT_GRANULARITIES = [(Granularity.MONTH, _("Month")), (Granularity.WEEK, _("Week"))]
SCOPES = [(Scope.INDUSTRY, _("All stores of my industry")), (Scope.SIZE_BAND, _("Stores of my size"))]


class ComparisonFilterForm(forms.Form):
    """The comparison page's filters; every field has a default so a bare URL works."""

    granularity = forms.ChoiceField(label=_("Granularity"), choices=COHORT_GRANULARITIES, required=False)
    terminal = forms.ChoiceField(label=_("Terminal"), choices=Terminal.choices, required=False)
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices, required=False)
    period = forms.DateField(label=_("Period"), required=False)
    scope = forms.ChoiceField(label=_("Compare with"), choices=SCOPES, required=False)

    def cleaned_or_default(self):
        data = self.cleaned_data if self.is_valid() else {}
        return (
            data.get("granularity") or Granularity.MONTH,
            data.get("terminal") or Terminal.ALL,
            data.get("region") or Region.ALL,
            data.get("period"),
            data.get("scope") or Scope.INDUSTRY,
        )


class SharingForm(forms.Form):
    contributes = forms.BooleanField(label=_("Share this store's figures, anonymised, in peer baselines"), required=False)


class IndustryForm(forms.ModelForm):
    class Meta:
        model = Industry
        fields = ["code", "name_zh", "name_en"]
        help_texts = {"code": _("Lower-case letters, digits and hyphens, for example consumer-electronics. It cannot be reused.")}


class StoreAssignmentForm(forms.Form):
    stores = forms.ModelMultipleChoiceField(label=_("Stores"), queryset=Store.objects.all())
    industry = forms.ModelChoiceField(
        label=_("Main industry"), queryset=Industry.objects.all(), required=False,
        empty_label=_("No main industry"),
    )


class MethodForm(forms.ModelForm):
    class Meta:
        model = MethodSettings
        fields = [
            "min_cohort_size", "min_top_group_size", "max_dominant_percent", "ranking_metric", "top_rule",
            "top_value", "split_by_size_band", "auto_publish",
        ]
        help_texts = {
            "min_cohort_size": _("A snapshot is published only with at least this many stores."),
            "min_top_group_size": _("A snapshot is published only when its top group has at least this many stores."),
            "max_dominant_percent": _("A source is hidden when one store has more than this percentage of its visitors."),
            # xgettext:no-python-format
            "top_value": _("With the top N% rule, N percent of the cohort, rounded up; with top K, the number of stores."),
        }

    def clean_min_cohort_size(self):
        value = self.cleaned_data["min_cohort_size"]
        if value < settings.BENCHMARK_MIN_COHORT:
            raise forms.ValidationError(
                _("The platform minimum is %(minimum)d stores."), params={"minimum": settings.BENCHMARK_MIN_COHORT}
            )
        return value

    def clean_min_top_group_size(self):
        value = self.cleaned_data["min_top_group_size"]
        if value < settings.BENCHMARK_MIN_TOP_GROUP:
            raise forms.ValidationError(
                _("The platform minimum is %(minimum)d stores."), params={"minimum": settings.BENCHMARK_MIN_TOP_GROUP}
            )
        return value

    def clean_max_dominant_percent(self):
        value = self.cleaned_data["max_dominant_percent"]
        if not 1 <= value <= 100:
            raise forms.ValidationError(_("Enter a percentage from 1 to 100."))
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("top_rule") == "percent" and not 1 <= (cleaned.get("top_value") or 0) <= 100:
            self.add_error("top_value", _("Enter a percentage from 1 to 100."))
        if cleaned.get("top_rule") == "count" and (cleaned.get("top_value") or 0) < 1:
            self.add_error("top_value", _("Enter at least one store."))
        return cleaned


SizeBandFormSet = forms.modelformset_factory(
    SizeBand,
    fields=["label_zh", "label_en", "min_monthly_visitors", "max_monthly_visitors"],
    extra=1,
    can_delete=True,
)


class RecomputeForm(forms.Form):
    granularity = forms.ChoiceField(label=_("Granularity"), choices=COHORT_GRANULARITIES)
    period = forms.DateField(
        label=_("Period"),
        help_text=_("Any day of the week or month, as YYYY-MM-DD; the natural period that contains it is recomputed."),
    )


class PeerFigureUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: industry, period, terminal, region, source, metric, peer_average, peer_top. "
            "UTF-8 or GB18030; rates as fractions or percentages."
        ),
    )
