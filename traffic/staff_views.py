"""Pages for platform staff: map source labels that imports did not recognise."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.validators import validate_slug
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _, gettext_lazy

from traffic import labels
from traffic.models import LabelMapping
from traffic.taxonomy import CATEGORIES, TOTAL


def staff_required(view):
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied(_("Only platform staff can open this page."))
        return view(request, *args, **kwargs)

    return wrapper


class LabelMappingForm(forms.Form):
    raw_label = forms.CharField(max_length=200, widget=forms.HiddenInput)
    source = forms.ChoiceField(label=gettext_lazy("Category"))
    sub_source = forms.CharField(
        label=gettext_lazy("Sub-source code"),
        max_length=64,
        validators=[validate_slug],
        help_text=gettext_lazy("An existing code such as photo_search, or a new one such as live_venue."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [(category.code, category.label) for category in CATEGORIES]

    def clean_source(self):
        source = self.cleaned_data["source"]
        if source == TOTAL:
            raise forms.ValidationError(_("A label cannot be mapped to the store total."))
        return source


@staff_required
def label_mappings(request):
    """List unmapped labels with a mapping form each, and the mappings made so far."""
    if request.method == "POST":
        form = LabelMappingForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            mapping, moved, left = labels.save_mapping(data["raw_label"], data["source"], data["sub_source"], request.user)
            messages.success(
                request,
                _("%(label)s now counts as %(target)s; %(moved)d figures moved, %(left)d kept under the label because the sub-source already had figures.")
                % {"label": mapping.display_label, "target": f"{mapping.source}.{mapping.sub_source}", "moved": moved, "left": left},
            )
            return redirect("traffic:label_mappings")
        messages.error(request, _("The mapping was not saved: %(errors)s") % {"errors": "; ".join(
            f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()
        )})

    known_codes = sorted({sub.code for category in CATEGORIES for sub in category.sub_sources})
    context = {
        "unmapped": [{**row, "form": LabelMappingForm(initial={"raw_label": row["raw_label"]})} for row in labels.unmapped_labels()],
        "mappings": LabelMapping.objects.all(),
        "known_codes": known_codes,
    }
    return render(request, "traffic/label_mappings.html", context)
