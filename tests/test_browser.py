"""Upload a native .xls in a real browser and read the report it produces.

Chromium comes from Debian (/usr/bin/chromium), driven by Playwright's sync
API against pytest-django's live_server. Imports run eagerly inside the upload
request, after its transaction commits, so the detail page is final at once.
Screenshots go to test-artifacts/ for a person to look at.
"""

import re

import pytest

from tests.browser import (  # noqa: F401 (fixtures)
    allow_sync_database_calls,
    browser,
    browser_marks,
    eager_imports,
    log_in,
    open_page,
    painted_pixels,
    screenshot,
)

MONTH_SAMPLE = "traffic-source_month_2026-10_wireless.xls"

pytestmark = browser_marks


@pytest.fixture
def page(browser):
    context, page = open_page(browser, "zh-CN")
    yield page
    context.close()


def _category_cells(page, source):
    row = page.locator(f'#source-table tbody.category[data-source="{source}"] tr.category-row')
    return [text.strip() for text in row.locator("td:not([data-metric=share]) .value").all_inner_texts()]


def _sub_source_cells(page, source, sub_source):
    row = page.locator(f'#source-table tr.sub-row[data-source="{source}"][data-sub-source="{sub_source}"]')
    return [text.strip() for text in row.locator("td:not([data-metric=share]) .value").all_inner_texts()]


def test_upload_xls_and_read_report(live_server, eager_imports, page, owner, store, samples_dir):
    log_in(page, live_server.url, owner.email)
    page.wait_for_url(re.compile(r"/stores/"))

    # Upload the native .xls from the uploads page.
    page.goto(f"{live_server.url}/stores/{store.slug}/uploads/")
    page.set_input_files("input[name=files]", str(samples_dir / MONTH_SAMPLE))
    page.click("form.upload-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/stores/{store.slug}/uploads/\d+/$"))

    page.wait_for_selector('#upload-status[data-status="succeeded"], #upload-status[data-status="failed"]')
    status = page.locator("#upload-status")
    assert status.get_attribute("data-status") == "succeeded", status.inner_text()
    assert page.locator("h1").inner_text().strip() == MONTH_SAMPLE
    screenshot(page, "upload-detail-zh.png")

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
    assert painted_pixels(page, "#trend-chart") > 500
    # One month of data: the source mix must still show its shares, as stacked bars.
    bar_heights = page.evaluate(
        "() => Chart.getChart('mix-chart').data.datasets.map((_, i) => Chart.getChart('mix-chart').getDatasetMeta(i))"
        ".flatMap(meta => meta.data.map(bar => bar.height || 0))"
    )
    assert sum(bar_heights) > 100
    screenshot(page, "report-zh.png")

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
    screenshot(page, "report-en.png")


def test_delete_upload_asks_first(live_server, page, owner, store):
    from tests.helpers import make_upload
    from traffic.models import Upload

    upload = make_upload(store, "week.csv")
    log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/stores/{store.slug}/uploads/{upload.id}/")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button.danger")
    page.wait_for_timeout(300)
    kept = Upload.objects.filter(id=upload.id).exists()

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button.danger")
    page.wait_for_url(re.compile(r"/uploads/$"))

    assert kept
    assert not Upload.objects.filter(id=upload.id).exists()
