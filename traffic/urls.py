from django.urls import path

from traffic import views

app_name = "traffic"

urlpatterns = [
    path("", views.home, name="home"),
    path("stores/<slug:slug>/", views.traffic_report, name="report"),
    path("stores/<slug:slug>/uploads/", views.upload_list, name="uploads"),
    path("stores/<slug:slug>/uploads/<int:upload_id>/", views.upload_detail, name="upload_detail"),
]
