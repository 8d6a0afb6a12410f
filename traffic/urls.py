from django.urls import path

from traffic import staff_views, upload_views, views

app_name = "traffic"

urlpatterns = [
    path("", views.home, name="home"),
    path("stores/<slug:slug>/", views.traffic_report, name="report"),
    path("stores/<slug:slug>/report.csv", views.report_csv, name="report_csv"),
    path("stores/<slug:slug>/report.xlsx", views.report_xlsx, name="report_xlsx"),
    path("stores/<slug:slug>/uploads/", upload_views.upload_list, name="uploads"),
    path("stores/<slug:slug>/uploads/<int:upload_id>/", upload_views.upload_detail, name="upload_detail"),
    path("stores/<slug:slug>/uploads/<int:upload_id>/delete/", upload_views.upload_delete, name="upload_delete"),
    path("stores/<slug:slug>/uploads/<int:upload_id>/problems.csv", upload_views.upload_problems_csv, name="upload_problems"),
    path("stores/<slug:slug>/uploads/<int:upload_id>/file/", upload_views.upload_file, name="upload_file"),
    path("staff/labels/", staff_views.label_mappings, name="label_mappings"),
]
