"""The covered-periods table (PostgreSQL only) follows every kind of write to the figures, through its triggers."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse

from tests.helpers import add_figure, make_upload, uses_postgres
from traffic.coverage_index import TABLE, rebuild_covered_periods, stale_covered_periods
from traffic.models import TrafficFigure

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(not uses_postgres(), reason="needs DATABASE_URL=postgres://...: SQLite keeps no covered-periods table"),
]

DAY = datetime.date(2026, 11, 3)


def covered(store):
    """Return {(granularity, terminal, region, period_start): figure_count} of one store."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT granularity, terminal, region, period_start, figure_count FROM {TABLE} WHERE store_id = %s",
            [store.pk],
        )
        rows = cursor.fetchall()
    return {(granularity, terminal, region, str(start)): count for granularity, terminal, region, start, count in rows}


def test_insert_counts_current_figures(store):
    upload = make_upload(store)
    add_figure(upload, "search", 10)
    add_figure(upload, "direct", 4)
    add_figure(upload, "search", 30, terminal="pc")

    assert covered(store) == {("day", "all", "all", "2026-11-03"): 2, ("day", "pc", "all", "2026-11-03"): 1}
    assert stale_covered_periods() == []


def test_bulk_create_and_figures_not_current(store):
    upload = make_upload(store)
    figures = [
        TrafficFigure(store=store, upload=upload, granularity="week", period_start=DAY, terminal="all",
                      region="exclude_cn", source=source, visitors=1, is_current=source != "venue")
        for source in ("search", "direct", "venue")
    ]
    TrafficFigure.objects.bulk_create(figures)

    assert covered(store) == {("week", "all", "exclude_cn", "2026-11-03"): 2}


def test_replacing_a_slice_moves_the_count(store):
    first = make_upload(store, "first.csv")
    add_figure(first, "search", 10)
    add_figure(first, "direct", 4)
    later = make_upload(store, "later.csv")

    # What a later upload of the same slice does: the earlier rows stop being current.
    TrafficFigure.objects.filter(upload=first).update(is_current=False)
    assert covered(store) == {}

    add_figure(later, "search", 12)
    assert covered(store) == {("day", "all", "all", "2026-11-03"): 1}
    assert stale_covered_periods() == []


def test_changing_the_source_keeps_the_period(store):
    upload = make_upload(store)
    add_figure(upload, "other", 3, raw_label="Live stream")

    # What a label mapping does to figures already imported.
    TrafficFigure.objects.filter(raw_label="Live stream").update(source="venue", sub_source="daily_venue", raw_label="")

    assert covered(store) == {("day", "all", "all", "2026-11-03"): 1}


def test_saving_a_figure_moves_its_period(store):
    upload = make_upload(store)
    figure = add_figure(upload, "search", 10)

    figure.period_start = DAY + datetime.timedelta(days=1)
    figure.save()

    assert covered(store) == {("day", "all", "all", "2026-11-04"): 1}


def test_deleting_figures_uploads_and_stores(store, other_store):
    upload = make_upload(store)
    add_figure(upload, "search", 10)
    add_figure(upload, "search", 10, period_start=DAY + datetime.timedelta(days=1))
    other_upload = make_upload(other_store)
    add_figure(other_upload, "search", 5)

    TrafficFigure.objects.filter(upload=upload, period_start=DAY).delete()
    assert covered(store) == {("day", "all", "all", "2026-11-04"): 1}

    upload.delete()
    assert covered(store) == {}

    other_store.delete()
    assert covered(other_store) == {}
    assert stale_covered_periods() == []


def test_rebuild_repairs_the_table(store, other_store):
    upload = make_upload(store)
    add_figure(upload, "search", 10)
    other_upload = make_upload(other_store)
    add_figure(other_upload, "search", 5)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET figure_count = 7")
        cursor.execute(
            f"INSERT INTO {TABLE} (store_id, granularity, terminal, region, period_start, figure_count) "
            "VALUES (%s, 'month', 'pc', 'all', %s, 1)",
            [store.pk, datetime.date(2026, 1, 1)],
        )
    assert len(stale_covered_periods(store.pk)) == 2

    rebuild_covered_periods(store.pk)

    assert stale_covered_periods(store.pk) == []
    assert covered(store) == {("day", "all", "all", "2026-11-03"): 1}
    assert stale_covered_periods(other_store.pk) != []


def test_page_reads_coverage_from_the_table(client, owner, store):
    upload = make_upload(store)
    add_figure(upload, "search", 10)
    client.force_login(owner)
    url = f"{reverse('traffic:report', args=[store.slug])}?granularity=day&period=2026-11-03"

    assert client.get(url).context["report"].has_data
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")

    assert not client.get(url).context["report"].has_data


def test_truncate_empties_the_table(store):
    upload = make_upload(store)
    add_figure(upload, "search", 10)

    with connection.cursor() as cursor:
        # Django's foreign keys are checked at commit, and TRUNCATE fails while such checks are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE traffic_trafficfigure")

    assert covered(store) == {}
