from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_lazy as _

from accounts.models import Store
from traffic.dimensions import Granularity, Region, Terminal


class Upload(models.Model):
    """One uploaded export file and the state of its import."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="uploads")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set for uploads made through the API with a store token.
    api_token = models.ForeignKey(
        "accounts.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="uploads"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    original_name = models.CharField(_("file name"), max_length=255)
    # The file lives under UPLOAD_ROOT / stored_name; the user's file name is never a path.
    stored_name = models.CharField(max_length=100, unique=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(default=0)

    # What the uploader stated for files that do not say it themselves (blank: not stated).
    granularity = models.CharField(_("granularity"), max_length=8, choices=Granularity.choices, blank=True)
    terminal = models.CharField(_("terminal"), max_length=16, choices=Terminal.choices, blank=True)
    region = models.CharField(_("region"), max_length=16, choices=Region.choices, blank=True)
    period_first_day = models.DateField(_("period from"), null=True, blank=True)
    period_last_day = models.DateField(_("period to"), null=True, blank=True)

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    layout = models.CharField(_("layout"), max_length=32, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    figures_imported = models.PositiveIntegerField(default=0)
    # Problems found by the importer, as dicts from importers.base.Problem.to_dict().
    messages = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by the worker while it reads the file. A processing upload whose heartbeat is
    # older than IMPORT_STALE_SECONDS has lost its worker, so it may be claimed again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker claimed this upload; each claim gets its own number.
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same bytes with the same options are imported once per store. A failed
            # upload does not count, so a file can be tried again after a fix elsewhere.
            models.UniqueConstraint(
                fields=["store", "sha256", "granularity", "terminal", "region"],
                condition=~models.Q(status="failed"),
                name="upload_one_live_import_per_file",
            ),
        ]
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    LAYOUT_LABELS = {
        "traffic_source_report": _("Traffic-source report"),
        "trend": _("Trend export"),
        "visitor_details": _("Visitor details"),
        "canonical": _("Canonical CSV"),
        "demo": _("Demo data"),
    }

    @property
    def layout_label(self):
        return self.LAYOUT_LABELS.get(self.layout, self.layout)

    @property
    def warning_count(self):
        return sum(1 for message in self.messages if message.get("level") == "warning")

    def uploaded_via(self):
        """Return who or what uploaded the file, for lists: an e-mail, an API token's name, or the command line."""
        if self.uploaded_by_id:
            return self.uploaded_by.email
        if self.layout == "demo":
            return gettext("Demo data")
        if self.api_token_id:
            return gettext("API token “%(name)s”") % {"name": self.api_token.name}
        return gettext("command line")

    def slices(self):
        """Return what the upload brought: one dict per granularity, terminal and region with its periods."""
        from django.db.models import Count, Max, Min

        from traffic.dimensions import Granularity, Region, Terminal, period_label

        rows = (
            self.figures.values("granularity", "terminal", "region")
            .annotate(first=Min("period_start"), last=Max("period_start"), periods=Count("period_start", distinct=True))
            .order_by("granularity", "terminal", "region")
        )
        return [
            {
                "granularity": Granularity(row["granularity"]).label,
                "terminal": Terminal(row["terminal"]).label,
                "region": Region(row["region"]).label,
                "first": period_label(row["granularity"], row["first"]),
                "last": period_label(row["granularity"], row["last"]),
                "periods": row["periods"],
            }
            for row in rows
        ]

    @property
    def is_done(self):
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}

    def import_options(self):
        from traffic.importers.base import ImportOptions

        period = None
        if self.period_first_day and self.period_last_day:
            period = (self.period_first_day, self.period_last_day)
        return ImportOptions(
            granularity=self.granularity, terminal=self.terminal, region=self.region, period=period, store=self.store.slug
        )

    @property
    def progress_percent(self):
        if not self.rows_total:
            return 0
        return min(100, round(100 * self.rows_read / self.rows_total))

    @property
    def file_path(self):
        return settings.UPLOAD_ROOT / self.stored_name

    def problems(self):
        """Return the stored problems as importers.base.Problem objects."""
        from traffic.importers.base import Problem

        return [Problem.from_dict(data) for data in self.messages]

    def rendered_messages(self):
        """Return the stored problems as (level, text) pairs in the active language."""
        return [(problem.level, problem.render()) for problem in self.problems()]

    def error_summary(self):
        errors = [text for level, text in self.rendered_messages() if level == "error"]
        return errors[0] if errors else gettext("The import failed.")


class TrafficFigure(models.Model):
    """The figures of one source of one store for one natural period, terminal and region.

    Every upload keeps its own rows. For each key exactly one row is current:
    the one from the latest upload. Deleting an upload makes the row it had
    replaced current again. Missing figures are NULL, never 0.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="traffic_figures")
    # No index of its own: traffic_figure_unique_per_upload starts with upload, so it serves look-ups by upload.
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="figures", db_index=False)
    granularity = models.CharField(max_length=8, choices=Granularity.choices)
    period_start = models.DateField()
    terminal = models.CharField(max_length=16, choices=Terminal.choices)
    region = models.CharField(max_length=16, choices=Region.choices)
    # A category code from traffic.taxonomy, or "total" for the store total.
    source = models.CharField(max_length=32)
    # A sub-source code, or "" on category rows.
    sub_source = models.CharField(max_length=64, blank=True, default="")
    # The label as written in the file, kept only for labels the taxonomy does not know
    # (counted under source "other"); "" for known labels.
    raw_label = models.CharField(max_length=200, blank=True, default="")

    visitors = models.PositiveIntegerField(null=True)
    inquiry_customers = models.PositiveIntegerField(null=True)
    tm_customers = models.PositiveIntegerField(null=True)
    # A fraction (0.0611 is 6.11%), as the file gave it or computed from the counts.
    feedback_conversion_rate = models.DecimalField(max_digits=9, decimal_places=6, null=True)
    # Other columns of the file (page views, number of inquiries, ...) by their header.
    extra = models.JSONField(default=dict, blank=True)
    is_current = models.BooleanField(default=True)

    KEY_FIELDS = ("granularity", "period_start", "terminal", "region", "source", "sub_source", "raw_label")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "granularity", "period_start", "terminal", "region", "source", "sub_source", "raw_label"],
                condition=models.Q(is_current=True),
                name="traffic_figure_one_current_per_key",
            ),
            models.UniqueConstraint(
                fields=["upload", "granularity", "period_start", "terminal", "region", "source", "sub_source", "raw_label"],
                name="traffic_figure_unique_per_upload",
            ),
        ]
        indexes = [
            # Finds a store's current figures of a slice and period range, and lets the traffic
            # page's sums and trend read them from the index alone (PostgreSQL; SQLite ignores INCLUDE).
            models.Index(
                fields=["store", "granularity", "terminal", "region", "period_start"],
                include=["source", "sub_source", "raw_label", "visitors", "inquiry_customers", "tm_customers", "feedback_conversion_rate"],
                condition=models.Q(is_current=True),
                name="traffic_figure_current_sums",
            ),
        ]

    def __str__(self):
        return f"{self.store_id} {self.granularity} {self.period_start} {self.terminal}/{self.region} {self.source}.{self.sub_source}"


class LabelMapping(models.Model):
    """An administrator's decision that a source label the taxonomy does not know belongs to a sub-source.

    `label` is stored folded with taxonomy.normalize_label, so full-width and
    spacing variants of the same label share one mapping. The mapping applies
    to later imports and, when saved, to the figures already imported.
    """

    label = models.CharField(_("label"), max_length=200, unique=True)
    display_label = models.CharField(_("label as first seen"), max_length=200)
    source = models.CharField(_("category"), max_length=32)
    sub_source = models.CharField(_("sub-source code"), max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["source", "sub_source", "label"]
        verbose_name = _("source label mapping")
        verbose_name_plural = _("source label mappings")

    def __str__(self):
        return f"{self.display_label} → {self.source}.{self.sub_source}"
