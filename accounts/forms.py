import zoneinfo

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken, Membership, Store, User


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("The e-mail address or password is incorrect. Both are case-sensitive."),
        "inactive": _("This account is inactive."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("E-mail address")
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "autofocus": True})


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.VIEWER)

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if Membership.objects.filter(store=self.store, user__email__iexact=email).exists():
            raise forms.ValidationError(_("%(email)s is already a member of this store."), params={"email": email})
        return email


class NewMemberForm(forms.Form):
    """Name and password for a person who accepts an invitation without an account yet."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        password1 = cleaned.get("password1")
        password2 = cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords are different. Type the same password twice."))
        elif password1:
            candidate = User(email=self.email, first_name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned

    def create_user(self) -> User:
        return User.objects.create_user(
            email=self.email, password=self.cleaned_data["password1"], first_name=self.cleaned_data["name"]
        )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class TransferOwnershipForm(forms.Form):
    new_owner = forms.ModelChoiceField(label=_("New owner"), queryset=Membership.objects.none())
    my_new_role = forms.ChoiceField(
        label=_("Your role afterwards"),
        choices=[(Membership.Role.ANALYST, _("Analyst")), (Membership.Role.VIEWER, _("Viewer"))],
        initial=Membership.Role.ANALYST,
    )

    def __init__(self, *args, current: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = (
            Membership.objects.filter(store=current.store).exclude(id=current.id).select_related("user").order_by("user__email")
        )
        self.fields["new_owner"].label_from_instance = lambda membership: membership.user.email


COMMON_TIME_ZONES = (
    ("America/Los_Angeles", _("US Pacific time, used by the Data Manager")),
    ("Asia/Shanghai", _("China time, used by the inquiry back-end")),
    ("UTC", _("Coordinated Universal Time")),
)


def time_zone_choices():
    """Return the common zones first, then every IANA zone, as grouped choices."""
    common = [(name, f"{name} · {label}") for name, label in COMMON_TIME_ZONES]
    every = [(name, name) for name in sorted(zoneinfo.available_timezones())]
    return [(_("Common"), common), (_("All time zones"), every)]


class StoreSettingsForm(forms.ModelForm):
    reporting_time_zone = forms.ChoiceField(
        label=_("Reporting time zone"),
        choices=time_zone_choices,
        help_text=_("The time zone the Data Manager dates its figures in. It is America/Los_Angeles (US Pacific time) unless the platform changes it."),
    )

    class Meta:
        model = Store
        fields = ["name", "main_industry", "reporting_time_zone"]


class DeleteStoreForm(forms.Form):
    confirm_slug = forms.CharField(label=_("Type the store's short name to confirm"), max_length=64)

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store

    def clean_confirm_slug(self):
        typed = self.cleaned_data["confirm_slug"].strip()
        if typed != self.store.slug:
            raise forms.ValidationError(
                _("Type %(slug)s exactly to confirm the deletion."), params={"slug": self.store.slug}
            )
        return typed


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        help_texts = {"name": _("What the token is for, such as the script or BI tool that uses it.")}
