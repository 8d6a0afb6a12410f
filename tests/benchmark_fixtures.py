"""Build cohorts of stores with hand-chosen monthly figures for benchmark tests."""

import datetime

from accounts.models import Store
from benchmarks import compute, publication
from benchmarks.models import BenchmarkRun
from tests.helpers import add_figure, make_upload

MONTH = datetime.date(2026, 10, 1)


def make_peer(industry, number, search_visitors, search_customers, total_visitors=None, other_visitors=100,
              period_start=MONTH, slug_prefix="peer"):
    """Create a store with a search row, an 'other' row and, unless total_visitors is None, a total row."""
    store = Store.objects.create(name=f"Peer {slug_prefix} {number}", slug=f"{slug_prefix}-{number}", main_industry=industry)
    upload = make_upload(store)
    add_figure(upload, "search", search_visitors, inquiry=search_customers, tm=0,
               granularity="month", period_start=period_start)
    add_figure(upload, "other", other_visitors, inquiry=1, tm=0, granularity="month", period_start=period_start)
    if total_visitors is not None:
        add_figure(upload, "total", total_visitors, inquiry=search_customers + 1, tm=0,
                   granularity="month", period_start=period_start)
    return store


def make_cohort(industry, count, period_start=MONTH, slug_prefix="peer"):
    """Create count stores: store i has 100*i search visitors, i search customers and a total of 200*i."""
    return [
        make_peer(industry, i, 100 * i, i, total_visitors=200 * i, period_start=period_start, slug_prefix=slug_prefix)
        for i in range(1, count + 1)
    ]


def recompute(period_start=MONTH, granularity="month", publish=True):
    run = compute.start_run(granularity, period_start, BenchmarkRun.Trigger.COMMAND)
    compute.claim_run(run.pk)
    compute.execute_run(run.pk)
    if publish:
        publication.publish_run(run.pk)
    return run
