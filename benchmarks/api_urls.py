from django.urls import path

from benchmarks import api

app_name = "benchmarks_api"

urlpatterns = [
    path("stores/<slug:slug>/benchmarks", api.benchmarks, name="benchmarks"),
]
