from django.urls import path

from traffic import api

app_name = "api"

urlpatterns = [
    path("stores/<slug:slug>/traffic", api.traffic, name="traffic"),
    path("stores/<slug:slug>/uploads", api.uploads, name="uploads"),
    path("stores/<slug:slug>/uploads/<int:upload_id>", api.upload_status, name="upload"),
]
