"""Upload a native .xls in a real browser and read the report it produces.

Chromium comes from Debian (/usr/bin/chromium), driven by Playwright's sync
API against pytest-django's live_server. Imports run eagerly inside the upload
request, after its transaction commits, so the detail page is final at once.
Screenshots go to test-artifacts/ for a person to look at.
"""

import os
import re
from pathlib import Path

import pytest

from config.celery import app as celery_app
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
MONTH_SAMPLE = "traffic-source_month_2026-10_wireless.xls"
TIMEOUT_MS = 20_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing; install Debian's chromium package"),
]


@pytest.fixture(scope="module", autouse=True)
def allow_sync_database_calls():
    """Let fixtures use the database while Playwright's event loop runs in this thread.

    Playwright's sync API keeps an asyncio loop running, which Django's
    async-safety check takes for async code. Nothing here is async, so the
    check is switched off for this module only.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(allow_sync_database_calls):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def eager_imports(settings):
    """Run the import inside the upload request, once its transaction commits."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def _screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _log_in(page, base_url, email):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/stores/"))


def _category_cells(page, source):
    row = page.locator(f'#source-table tbody.category[data-source="{source}"] tr.category-row')
    return [text.strip() for text in row.locator("td:not([data-metric=share]) .value").all_inner_texts()]


def _sub_source_cells(page, source, sub_source):
    row = page.locator(f'#source-table tr.sub-row[data-source="{source}"][data-sub-source="{sub_source}"]')
    return [text.strip() for text in row.locator("td:not([data-metric=share]) .value").all_inner_texts()]


def _painted_pixels(page, selector):
    """Return how many pixels of a canvas are not fully transparent."""
    return page.eval_on_selector(
        selector,
        """canvas => {
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) {
                if (data[i] !== 0) { painted += 1; }
            }
            return painted;
        }""",
    )


def test_upload_xls_and_read_report(live_server, eager_imports, page, owner, store, samples_dir):
    _log_in(page, live_server.url, owner.email)

    # Upload the native .xls from the uploads page.
    page.goto(f"{live_server.url}/stores/{store.slug}/uploads/")
    page.set_input_files("input[name=files]", str(samples_dir / MONTH_SAMPLE))
    page.click("form.upload-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/stores/{store.slug}/uploads/\d+/$"))

    page.wait_for_selector('#upload-status[data-status="succeeded"], #upload-status[data-status="failed"]')
    status = page.locator("#upload-status")
    assert status.get_attribute("data-status") == "succeeded", status.inner_text()
    assert page.locator("h1").inner_text().strip() == MONTH_SAMPLE
    _screenshot(page, "upload-detail-zh.png")

    # Follow the link to the report of the month the file brought.
    page.click("#upload-status .done a")
    page.wait_for_url(re.compile(rf"/stores/{store.slug}/\?"))
    page.locator("#source-table").wait_for()
    assert "granularity=month" in page.url
    assert "terminal=wireless" in page.url
    assert "period=2026-10-01" in page.url

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert _category_cells(page, "search") == ["6,225", "222", "93", "5.06%"]
    assert _category_cells(page, "recommendation") == ["3,850", "66", "59", "3.25%"]
    assert _category_cells(page, "other") == ["298", "10", "3", "4.36%"]
    search_label = page.locator('#source-table tbody.category[data-source="search"] th').inner_text().strip()
    assert search_label == "搜索"

    # Sub-sources start collapsed; the category button opens them.
    sub_rows = page.locator("#sub-search")
    assert sub_rows.is_hidden()
    page.click('#source-table tbody.category[data-source="search"] button.toggle')
    assert sub_rows.is_visible()
    assert _sub_source_cells(page, "search", "category_navigation") == ["4,232", "159", "56", "5.08%"]

    assert page.locator("#source-table tfoot").count() == 0  # the .xls has no total row

    # The chart has drawn something (axes, legend, the October points).
    page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart') !== undefined")
    assert _painted_pixels(page, "#trend-chart") > 500
    _screenshot(page, "report-zh.png")

    # Switch to English; the same report comes back in English.
    page.click('form.language-switch button[value="en"]')
    page.wait_for_selector('html[lang="en"]')
    page.locator("#source-table").wait_for()
    headers = [text.strip() for text in page.locator("#source-table thead th a.sort").all_inner_texts()]
    assert headers == ["Source", "Visitors", "Share of visitors", "Inquiry customers", "TM customers", "Feedback conversion rate"]
    search_label = page.locator('#source-table tbody.category[data-source="search"] th').inner_text().strip()
    assert search_label == "Search"
    assert _category_cells(page, "search") == ["6,225", "222", "93", "5.06%"]
    assert "period=2026-10-01" in page.url
    _screenshot(page, "report-en.png")
