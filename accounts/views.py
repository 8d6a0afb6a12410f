from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.access import stores_for_user
from accounts.forms import EmailAuthenticationForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


@login_required
def store_list(request):
    """List the user's stores with their role, for the store switcher."""
    memberships = request.user.memberships.select_related("store").order_by("store__name")
    return render(request, "accounts/stores.html", {"memberships": memberships})
