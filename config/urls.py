from django.contrib import admin
from django.urls import include, path

from config.health import health

urlpatterns = [
    path("", include("traffic.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("traffic.api_urls")),
    path("", include("benchmarks.urls")),
    path("api/v1/", include("benchmarks.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("healthz", health, name="health"),
]
