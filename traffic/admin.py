from django.contrib import admin

from traffic.models import Upload


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["original_name", "store", "status", "layout", "figures_imported", "created_at"]
    list_filter = ["status", "layout"]
    readonly_fields = ["sha256", "stored_name", "messages"]
