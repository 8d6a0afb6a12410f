from django.urls import path

from traffic import api

app_name = "api"

urlpatterns = [
    path("stores/<slug:slug>/traffic", api.traffic, name="traffic"),
]
