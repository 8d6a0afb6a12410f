"""The comparison page and a staff recompute in a real browser (headless Chromium through Playwright)."""

import re

import pytest

from accounts.models import User
from benchmarks.models import MethodSettings
from tests.benchmark_fixtures import MONTH, make_peer, recompute
from tests.browser import (  # noqa: F401 (fixtures)
    allow_sync_database_calls,
    browser,
    browser_marks,
    log_in,
    open_page,
    painted_pixels,
    screenshot,
)
from tests.browser import eager_imports as eager_tasks  # noqa: F401 (fixture)
from tests.conftest import PASSWORD
from tests.helpers import add_figure, make_upload

pytestmark = browser_marks


@pytest.fixture
def page(browser):
    context, page = open_page(browser, "en-US")
    yield page
    context.close()


def test_comparison_page_draws_charts(live_server, page, owner, store, industry):
    method = MethodSettings.current()
    method.top_rule, method.top_value = "count", 5
    method.save()
    for i in range(1, 11):
        make_peer(industry, i, 100 * i, i * i, total_visitors=200 * i)
    recompute()
    upload = make_upload(store)
    add_figure(upload, "search", 3100, inquiry=50, tm=12, granularity="month", period_start=MONTH)
    add_figure(upload, "total", 6000, inquiry=70, tm=12, granularity="month", period_start=MONTH)

    log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/stores/{store.slug}/benchmarks/?granularity=month")

    page.wait_for_function("() => window.Chart && Chart.getChart('mix-chart') && Chart.getChart('conversion-chart')")
    assert painted_pixels(page, "#mix-chart") > 500
    assert painted_pixels(page, "#conversion-chart") > 500
    assert page.locator('#gap-table tr[data-source="search"]').count() == 1
    assert "186" in page.locator("#advice-lines").inner_text()
    screenshot(page, "benchmarks-comparison-en.png")

    # Changing a filter swaps the body through htmx and draws again.
    page.select_option("select[name=terminal]", "pc")
    page.wait_for_url(re.compile(r"terminal=pc"))
    assert page.locator("#mix-chart").count() == 0


def test_staff_recompute_in_browser(live_server, page, eager_tasks, industry):
    for i in range(1, 12):
        make_peer(industry, i, 100 * i, i, total_visitors=200 * i)
    User.objects.create_user(email="staff@example.com", password=PASSWORD, is_staff=True)

    log_in(page, live_server.url, "staff@example.com")
    page.goto(f"{live_server.url}/staff/benchmarks/recompute/")
    page.select_option("select[name=granularity]", "month")
    page.fill("input[name=period]", "2026-10-15")
    page.click("#recompute-form button[type=submit]")

    page.wait_for_selector('#run-status[data-status="succeeded"]')
    assert "1 / 1" in page.locator("#run-status").inner_text()
    screenshot(page, "benchmarks-recompute-en.png")
