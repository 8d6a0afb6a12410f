"""Peer baselines: who contributes, how cohorts are formed, and the computed snapshots.

A snapshot is written once and never changed, except for its publication
fields. The values of the platform's own peer figures (同行平均, 同行优秀) live in
PeerFigure and are never mixed into computed baselines.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Industry, Store
from traffic.dimensions import Granularity, Region, Terminal


def contributes_by_default() -> bool:
    return settings.BENCHMARK_CONTRIBUTE_DEFAULT


class StoreSharing(models.Model):
    """A store's choice to contribute its figures to peer baselines.

    A store without a row follows BENCHMARK_CONTRIBUTE_DEFAULT.
    """

    store = models.OneToOneField(Store, on_delete=models.CASCADE, primary_key=True, related_name="benchmark_sharing")
    contributes = models.BooleanField(_("contributes to peer baselines"), default=contributes_by_default)
    # Synthetic stores made by the seed_benchmarks command; they have no members.
    is_demo = models.BooleanField(_("demo store"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("benchmark sharing choice")
        verbose_name_plural = _("benchmark sharing choices")

    def __str__(self):
        return f"{self.store_id}: {self.contributes}"


class SizeBand(models.Model):
    """A range of store visitors per month that splits an industry's cohort by store size.

    Weekly cohorts scale the bounds by 7 / 30.4375, the average days per month.
    """

    label_zh = models.CharField(_("Chinese label"), max_length=60)
    label_en = models.CharField(_("English label"), max_length=60)
    min_monthly_visitors = models.PositiveIntegerField(_("from monthly visitors"))
    # None: no upper bound.
    max_monthly_visitors = models.PositiveIntegerField(_("below monthly visitors"), null=True, blank=True)

    class Meta:
        ordering = ["min_monthly_visitors"]
        verbose_name = _("size band")
        verbose_name_plural = _("size bands")

    def __str__(self):
        return self.label_zh

    def clean(self):
        if self.max_monthly_visitors is not None and self.max_monthly_visitors <= self.min_monthly_visitors:
            raise ValidationError(_("The upper bound must be above the lower bound."))

    @property
    def label(self):
        from traffic.taxonomy import localized_label

        return localized_label(self.label_zh, self.label_en)


class RankingMetric(models.TextChoices):
    FEEDBACK_CUSTOMERS = "feedback_customers", _("Feedback customers (inquiry + TM customers)")
    CONVERSION_RATE = "feedback_conversion_rate", _("Feedback conversion rate")


class TopRule(models.TextChoices):
    # xgettext:no-python-format
    PERCENT = "percent", _("Top N% of the cohort")
    COUNT = "count", _("Top K stores")


class MethodSettings(models.Model):
    """The method and thresholds every new computation uses; one row, edited by staff.

    The minimum cohort and top-group sizes cannot go below the platform
    settings BENCHMARK_MIN_COHORT and BENCHMARK_MIN_TOP_GROUP.
    """

    min_cohort_size = models.PositiveIntegerField(_("minimum stores in a cohort"))
    min_top_group_size = models.PositiveIntegerField(_("minimum stores in the top group"))
    # A source is suppressed when one store has more than this percentage of the cohort's visitors in it.
    max_dominant_percent = models.PositiveIntegerField(_("maximum share of one store (%)"), default=50)
    ranking_metric = models.CharField(
        _("ranking metric for top stores"), max_length=32, choices=RankingMetric.choices,
        default=RankingMetric.FEEDBACK_CUSTOMERS,
    )
    top_rule = models.CharField(_("top group rule"), max_length=16, choices=TopRule.choices, default=TopRule.PERCENT)
    # Percent of the cohort for TopRule.PERCENT, number of stores for TopRule.COUNT.
    # xgettext:no-python-format
    top_value = models.PositiveIntegerField(_("top N% or top K"), default=10)
    split_by_size_band = models.BooleanField(_("also compute one cohort per size band"), default=False)
    # Publish snapshots that pass the thresholds as soon as a scheduled recompute makes them.
    auto_publish = models.BooleanField(_("publish scheduled recomputes automatically"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("benchmark method")
        verbose_name_plural = _("benchmark method")

    @classmethod
    def current(cls) -> "MethodSettings":
        method, _created = cls.objects.get_or_create(
            pk=1,
            defaults={
                "min_cohort_size": settings.BENCHMARK_MIN_COHORT,
                "min_top_group_size": settings.BENCHMARK_MIN_TOP_GROUP,
            },
        )
        return method

    def as_parameters(self) -> dict:
        """Return the method as the JSON a snapshot records."""
        return {
            "percentile": "linear interpolation between closest ranks (PostgreSQL percentile_cont)",
            "min_cohort_size": max(self.min_cohort_size, settings.BENCHMARK_MIN_COHORT),
            "min_top_group_size": max(self.min_top_group_size, settings.BENCHMARK_MIN_TOP_GROUP),
            "max_dominant_percent": self.max_dominant_percent,
            "ranking_metric": self.ranking_metric,
            "top_rule": self.top_rule,
            "top_value": self.top_value,
            "split_by_size_band": self.split_by_size_band,
        }


class BenchmarkRun(models.Model):
    """One recompute job: the periods it covers and its progress, for the staff page to poll."""

    class Status(models.TextChoices):
        # Own wording, because the upload statuses are translated as import states.
        QUEUED = "queued", _("Recompute queued")
        RUNNING = "running", _("Recomputing")
        SUCCEEDED = "succeeded", _("Recompute finished")
        FAILED = "failed", _("Recompute failed")

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("Started by staff")
        SCHEDULE = "schedule", _("Scheduled")
        COMMAND = "command", _("Management command")

    granularity = models.CharField(_("granularity"), max_length=8, choices=Granularity.choices)
    period_start = models.DateField(_("period"))
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cohorts_total = models.PositiveIntegerField(default=0)
    cohorts_done = models.PositiveIntegerField(default=0)
    snapshots_publishable = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("recompute run")
        verbose_name_plural = _("recompute runs")

    def __str__(self):
        return f"{self.granularity} {self.period_start} ({self.status})"

    @property
    def is_done(self):
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}

    @property
    def progress_percent(self):
        if not self.cohorts_total:
            return 100 if self.is_done else 0
        return min(100, round(100 * self.cohorts_done / self.cohorts_total))


class TotalBasis(models.TextChoices):
    TOTAL_ROW = "total_row", _("The store total row of the file")
    CATEGORY_SUM = "category_sum", _("The sum of the 11 categories")


class BaselineSnapshot(models.Model):
    """The baselines of one cohort: one industry, period, terminal, region and optional size band.

    Written once by benchmarks.compute; afterwards only the publication fields change.
    """

    PUBLICATION_FIELDS = frozenset({"published_at", "published_by", "unpublished_at", "unpublished_by"})

    run = models.ForeignKey(BenchmarkRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="snapshots")
    industry = models.ForeignKey(Industry, on_delete=models.PROTECT, related_name="baseline_snapshots")
    granularity = models.CharField(_("granularity"), max_length=8, choices=Granularity.choices)
    period_start = models.DateField(_("period"))
    terminal = models.CharField(_("terminal"), max_length=16, choices=Terminal.choices)
    region = models.CharField(_("region"), max_length=16, choices=Region.choices)
    size_band = models.ForeignKey(SizeBand, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The band's label and bounds at computation time; {} for the whole industry.
    size_band_definition = models.JSONField(default=dict, blank=True)

    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True)
    method = models.JSONField(_("method and parameters"))
    cohort_size = models.PositiveIntegerField(_("stores in the cohort"))
    top_group_size = models.PositiveIntegerField(_("stores in the top group"))
    # How many cohort stores had their total visitors from a total row and how many from the category sum.
    stores_with_total_row = models.PositiveIntegerField(default=0)
    stores_with_category_sum = models.PositiveIntegerField(default=0)
    # "" when the cohort meets the thresholds; otherwise a SuppressionReason value.
    withheld_reason = models.CharField(max_length=32, blank=True)

    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    unpublished_at = models.DateTimeField(_("unpublished at"), null=True, blank=True)
    unpublished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [
            models.Index(
                fields=["industry", "granularity", "terminal", "region", "period_start"],
                name="baseline_snapshot_lookup",
            ),
        ]
        constraints = [
            # At most one published snapshot per cohort key; publishing a new one unpublishes the old.
            models.UniqueConstraint(
                fields=["industry", "granularity", "period_start", "terminal", "region"],
                condition=models.Q(published_at__isnull=False, unpublished_at__isnull=True, size_band__isnull=True),
                name="baseline_one_published_per_industry",
            ),
            models.UniqueConstraint(
                fields=["industry", "granularity", "period_start", "terminal", "region", "size_band"],
                condition=models.Q(published_at__isnull=False, unpublished_at__isnull=True, size_band__isnull=False),
                name="baseline_one_published_per_band",
            ),
        ]
        verbose_name = _("baseline snapshot")
        verbose_name_plural = _("baseline snapshots")

    def __str__(self):
        return f"{self.industry_id} {self.granularity} {self.period_start} {self.terminal}/{self.region} #{self.pk}"

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if self.pk and not self._state.adding:
            if update_fields is None or not set(update_fields) <= self.PUBLICATION_FIELDS:
                raise ValueError(f"Baseline snapshot {self.pk} is immutable; only its publication fields can change.")
        super().save(*args, **kwargs)

    @property
    def is_published(self):
        return self.published_at is not None and self.unpublished_at is None

    @property
    def is_publishable(self):
        return not self.withheld_reason

    @property
    def size_band_label(self):
        from traffic.taxonomy import localized_label

        if not self.size_band_definition:
            return ""
        return localized_label(self.size_band_definition["label_zh"], self.size_band_definition["label_en"])


class Metric(models.TextChoices):
    VISITOR_SHARE = "visitor_share", _("Share of visitors")
    FEEDBACK_CONVERSION_RATE = "feedback_conversion_rate", _("Feedback conversion rate")


class SuppressionReason(models.TextChoices):
    SMALL_COHORT = "small_cohort", _("Fewer stores than the minimum cohort size")
    SMALL_TOP_GROUP = "small_top_group", _("Fewer top stores than the minimum top-group size")
    DOMINANCE = "dominance", _("One store has more than the maximum share of the visitors in this source")
    FEW_CONTRIBUTORS = "few_contributors", _("Fewer stores with figures in this source than the minimum cohort size")


class BaselineValue(models.Model):
    """One source and metric of a snapshot: peer median, 25th-75th percentile band and top-store median.

    Suppressed values keep their figures so staff can preview what suppression
    hides; pages, exports and the API never show them to merchants.
    """

    snapshot = models.ForeignKey(BaselineSnapshot, on_delete=models.CASCADE, related_name="values")
    source = models.CharField(max_length=32)
    metric = models.CharField(max_length=32, choices=Metric.choices)
    contributors = models.PositiveIntegerField()
    top_contributors = models.PositiveIntegerField(default=0)
    p25 = models.FloatField(null=True)
    median = models.FloatField(null=True)
    p75 = models.FloatField(null=True)
    top_median = models.FloatField(null=True)
    suppressed_reason = models.CharField(max_length=32, blank=True, choices=SuppressionReason.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "source", "metric"], name="baseline_value_unique"),
        ]

    def save(self, *args, **kwargs):
        if self.pk and not self._state.adding:
            raise ValueError(f"Baseline value {self.pk} is immutable.")
        super().save(*args, **kwargs)

    @property
    def is_suppressed(self):
        return bool(self.suppressed_reason)


class PeerFigure(models.Model):
    """A peer figure the platform itself published: 同行平均 (peer average) and 同行优秀 (top peers).

    Kept apart from computed baselines and shown only as a reference. Staff
    upload them as CSV for an industry; a value carried by a merchant's file
    belongs to that store and is shown only to it.
    """

    class Origin(models.TextChoices):
        STAFF_UPLOAD = "staff_upload", _("Uploaded by staff")
        MERCHANT_FILE = "merchant_file", _("From a merchant's export")

    industry = models.ForeignKey(Industry, on_delete=models.CASCADE, related_name="peer_figures")
    # Set only for values from a merchant's file.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, null=True, blank=True, related_name="peer_figures")
    origin = models.CharField(max_length=16, choices=Origin.choices)
    granularity = models.CharField(_("granularity"), max_length=8, choices=Granularity.choices)
    period_start = models.DateField(_("period"))
    terminal = models.CharField(_("terminal"), max_length=16, choices=Terminal.choices)
    region = models.CharField(_("region"), max_length=16, choices=Region.choices)
    source = models.CharField(_("source"), max_length=32)
    # A TrafficFigure metric name (visitors, feedback_conversion_rate, ...) or visitor_share.
    metric = models.CharField(_("metric"), max_length=32)
    # Rates are fractions, as in TrafficFigure.
    peer_average = models.FloatField(_("peer average"), null=True, blank=True)
    peer_top = models.FloatField(_("top peers"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now=True)

    class Meta:
        ordering = ["industry", "-period_start", "source", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["industry", "granularity", "period_start", "terminal", "region", "source", "metric"],
                condition=models.Q(store__isnull=True),
                name="peer_figure_unique_platform_key",
            ),
            models.UniqueConstraint(
                fields=["store", "granularity", "period_start", "terminal", "region", "source", "metric"],
                condition=models.Q(store__isnull=False),
                name="peer_figure_unique_store_key",
            ),
        ]
        verbose_name = _("platform peer figure")
        verbose_name_plural = _("platform peer figures")
