"""The comparison page and a staff recompute in a real browser (headless Chromium through Playwright)."""

import os
import re
from pathlib import Path

import pytest

from accounts.models import User
from benchmarks.models import MethodSettings
from config.celery import app as celery_app
from tests.benchmark_fixtures import MONTH, make_peer, recompute
from tests.conftest import PASSWORD
from tests.helpers import add_figure, make_upload

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TIMEOUT_MS = 20_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing; install Debian's chromium package"),
]


@pytest.fixture(scope="module", autouse=True)
def allow_sync_database_calls():
    # Playwright's sync API runs an event loop in this thread, which Django's async check mistakes for async code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(allow_sync_database_calls):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def eager_tasks(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def log_in(page, base_url, email):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")


def painted_pixels(page, selector):
    """Return how many pixels of a canvas are not fully transparent."""
    return page.eval_on_selector(
        selector,
        """canvas => {
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) { painted += 1; } }
            return painted;
        }""",
    )


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


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
