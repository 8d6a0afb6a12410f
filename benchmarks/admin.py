from django.contrib import admin

from benchmarks.models import BaselineSnapshot, BenchmarkRun, MethodSettings, PeerFigure, SizeBand, StoreSharing


@admin.register(SizeBand)
class SizeBandAdmin(admin.ModelAdmin):
    list_display = ["label_zh", "label_en", "min_monthly_visitors", "max_monthly_visitors"]


@admin.register(MethodSettings)
class MethodSettingsAdmin(admin.ModelAdmin):
    list_display = ["min_cohort_size", "min_top_group_size", "ranking_metric", "top_rule", "top_value", "updated_at"]


@admin.register(BenchmarkRun)
class BenchmarkRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "granularity", "period_start", "trigger", "status", "cohorts_done", "cohorts_total"]
    list_filter = ["status", "granularity", "trigger"]
    readonly_fields = [field.name for field in BenchmarkRun._meta.fields]


@admin.register(BaselineSnapshot)
class BaselineSnapshotAdmin(admin.ModelAdmin):
    """Read-only: snapshots are immutable, and publishing goes through the staff pages so it is audited."""

    list_display = ["industry", "granularity", "period_start", "terminal", "region", "cohort_size", "withheld_reason", "published_at"]
    list_filter = ["granularity", "industry", "terminal", "region"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PeerFigure)
class PeerFigureAdmin(admin.ModelAdmin):
    list_display = ["industry", "granularity", "period_start", "terminal", "region", "source", "metric", "peer_average", "peer_top", "origin"]
    list_filter = ["origin", "industry", "granularity"]


@admin.register(StoreSharing)
class StoreSharingAdmin(admin.ModelAdmin):
    list_display = ["store", "contributes", "is_demo", "updated_at"]
    list_filter = ["contributes", "is_demo"]
