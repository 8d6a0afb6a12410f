from django.urls import path

from benchmarks import staff_views, views

app_name = "benchmarks"

urlpatterns = [
    path("stores/<slug:slug>/benchmarks/", views.comparison_page, name="comparison"),
    path("stores/<slug:slug>/benchmarks/export.csv", views.export_csv, name="export_csv"),
    path("stores/<slug:slug>/benchmarks/export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("stores/<slug:slug>/benchmarks/sharing/", views.sharing, name="sharing"),
    path("staff/benchmarks/", staff_views.home, name="staff_home"),
    path("staff/benchmarks/industries/", staff_views.industries, name="staff_industries"),
    path("staff/benchmarks/industries/<int:industry_id>/", staff_views.industries, name="staff_industry"),
    path("staff/benchmarks/stores/", staff_views.store_assignment, name="staff_stores"),
    path("staff/benchmarks/method/", staff_views.method, name="staff_method"),
    path("staff/benchmarks/recompute/", staff_views.recompute, name="staff_recompute"),
    path("staff/benchmarks/runs/<int:run_id>/", staff_views.run_detail, name="staff_run"),
    path("staff/benchmarks/runs/<int:run_id>/publish/", staff_views.run_publish, name="staff_run_publish"),
    path("staff/benchmarks/snapshots/", staff_views.snapshots, name="staff_snapshots"),
    path("staff/benchmarks/snapshots/<int:snapshot_id>/", staff_views.snapshot_detail, name="staff_snapshot"),
    path("staff/benchmarks/snapshots/<int:snapshot_id>/publish/", staff_views.snapshot_publish, name="staff_snapshot_publish"),
    path("staff/benchmarks/snapshots/<int:snapshot_id>/unpublish/", staff_views.snapshot_unpublish, name="staff_snapshot_unpublish"),
    path("staff/benchmarks/peer-figures/", staff_views.peer_figures, name="staff_peer_figures"),
    path("staff/benchmarks/unmapped-labels/", staff_views.unmapped_labels, name="staff_unmapped"),
]
