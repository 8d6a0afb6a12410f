"""Helpers shared by tests that write figures without going through a file."""

import datetime
import uuid

from traffic.models import TrafficFigure, Upload


def make_upload(store, name="test.csv", status=Upload.Status.SUCCEEDED):
    return Upload.objects.create(
        store=store,
        original_name=name,
        stored_name=f"{uuid.uuid4().hex}.upload",
        sha256=uuid.uuid4().hex * 2,
        status=status,
    )


def add_figure(upload, source, visitors, inquiry=0, tm=0, rate=None, sub_source="", raw_label="",
               granularity="day", period_start=datetime.date(2026, 11, 3), terminal="all", region="all"):
    return TrafficFigure.objects.create(
        store=upload.store,
        upload=upload,
        granularity=granularity,
        period_start=period_start,
        terminal=terminal,
        region=region,
        source=source,
        sub_source=sub_source,
        raw_label=raw_label,
        visitors=visitors,
        inquiry_customers=inquiry,
        tm_customers=tm,
        feedback_conversion_rate=rate,
    )


def postgres_test_url() -> str:
    """Build a postgres:// URL for the database this test session actually uses (test_<name>)."""
    from urllib.parse import quote

    from django.db import connection

    database = connection.settings_dict
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    port = f":{database['PORT']}" if database["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(database['NAME'], safe='')}"


def uses_postgres() -> bool:
    import os

    return os.environ.get("DATABASE_URL", "").split(":", 1)[0] in {"postgres", "postgresql", "pgsql"}
