"""The traffic page in headless Chromium: filters through htmx, charts, exports, both languages.

Screenshots for the user guide go to docs/screenshots/ (viewport-sized PNGs, to stay small).
"""

import csv
import datetime
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from tests.conftest import PASSWORD
from tests.helpers import make_upload
from traffic.models import TrafficFigure

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
TIMEOUT_MS = 20_000
LAST_DAY = datetime.date(2026, 11, 29)  # a Sunday

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing; install Debian's chromium package"),
]


@pytest.fixture(scope="module", autouse=True)
def allow_sync_database_calls():
    """Let fixtures use the database while Playwright's event loop runs in this thread."""
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
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sixty_days(store):
    """Sixty days for All and PC: search 100 + day, direct 40, total 150 + day; an unmapped "=HYPERLINK" label."""
    upload = make_upload(store)
    figures = []
    for offset in range(60):
        day = LAST_DAY - datetime.timedelta(days=59 - offset)
        for terminal in ("all", "pc"):
            for source, raw_label, visitors in (
                ("search", "", 100 + offset),
                ("direct", "", 40),
                ("other", '=HYPERLINK("http://example.invalid","x")', 3),
                ("total", "", 150 + offset),
            ):
                figures.append(TrafficFigure(
                    store=store, upload=upload, granularity="day", period_start=day, terminal=terminal, region="all",
                    source=source, raw_label=raw_label, visitors=visitors, inquiry_customers=visitors // 20,
                    tm_customers=visitors // 40, feedback_conversion_rate=None,
                ))
    # Search jumps on the last day, so "what changed" lists it.
    figures.append(TrafficFigure(
        store=store, upload=upload, granularity="day", period_start=LAST_DAY + datetime.timedelta(days=1), terminal="all",
        region="all", source="search", visitors=400, inquiry_customers=20, tm_customers=10,
        feedback_conversion_rate=Decimal("0.075"),
    ))
    TrafficFigure.objects.bulk_create(figures)
    return upload


def _log_in(page, base_url, email, language="zh-hans"):
    """Log in, then switch to English with the language buttons when language is "en"."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/stores/"))
    if language == "en":
        page.click('form.language-switch button[value="en"]')
        page.wait_for_selector('html[lang="en"]')


def _painted_pixels(page, selector):
    return page.eval_on_selector(
        selector,
        """canvas => {
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) { painted += 1; } }
            return painted;
        }""",
    )


def _screenshot(page, name, selector=None):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = page.locator(selector) if selector else page
    target.screenshot(path=str(SCREENSHOTS / name))


def _search_visitors(page):
    cell = page.locator('#source-table tbody.category[data-source="search"] td[data-metric="visitors"] .value')
    return cell.inner_text().strip()


def _record_htmx_requests(page):
    """Return a list that collects the URL of every htmx request the page sends from now on."""
    urls = []
    page.on("request", lambda request: urls.append(request.url) if request.headers.get("hx-request") else None)
    return urls


def _record_errors(page):
    """Return a list that collects console errors (CSP violations among them) and uncaught exceptions."""
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _type_date(page, selector, day):
    """Type a date into a date input key by key, as a user does.

    Chromium shows date inputs here as mm/dd/yyyy whatever the context's locale, and focus()
    puts the caret on the month.
    """
    page.focus(selector)
    page.keyboard.type(day.strftime("%m%d%Y"))


def _tab_out_of(page, name):
    """Press Tab until focus leaves the named field. A date input has a tab stop for each part and for its calendar button."""
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.name") != name:
            return
    raise AssertionError(f"focus did not leave the field {name!r}")


def _wait_for_charts(page):
    page.wait_for_function(
        "() => window.Chart && Chart.getChart('trend-chart') !== undefined && Chart.getChart('mix-chart') !== undefined"
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_report_filters_charts_and_exports(live_server, page, owner, store, sixty_days, language, tmp_path):
    _log_in(page, live_server.url, owner.email, language)

    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=custom&start=2026-11-23&end=2026-11-29")
    page.locator("#source-table").wait_for()
    assert page.locator("html").get_attribute("lang") == language
    # 7 × 100 + (53 + ... + 59)
    assert _search_visitors(page) == "1,092"
    page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart') !== undefined")
    assert _painted_pixels(page, "#trend-chart") > 500
    assert _painted_pixels(page, "#mix-chart") > 500
    suffix = "zh" if language == "zh-hans" else "en"
    _screenshot(page, f"report-top-{suffix}.png")

    # The terminal select swaps the body through htmx and pushes the canonical URL.
    page.evaluate("() => { window.__notReloaded = true; }")
    page.select_option('select[name="terminal"]', "pc")
    page.wait_for_url(re.compile(r"terminal=pc"))
    page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart') !== undefined")
    assert page.evaluate("() => window.__notReloaded") is True
    assert "range=custom" in page.url
    assert "start=2026-11-23" in page.url

    # Week granularity: the week is summed from its days and marked.
    page.select_option('select[name="granularity"]', "week")
    page.wait_for_url(re.compile(r"granularity=week"))
    page.locator("#derived-legend").wait_for()
    assert _search_visitors(page) == "1,092"
    assert page.locator('#source-table tbody.category[data-source="search"] td[data-metric="visitors"] sup.mark').count() == 1

    # Back returns to the daily view.
    page.go_back()
    page.wait_for_url(re.compile(r"granularity=day"))
    page.locator('select[name="granularity"]').wait_for()
    assert page.locator('select[name="granularity"]').input_value() == "day"

    # Sorting by visitors works as a link.
    page.click('#source-table thead th a.sort[href*="sort=-visitors"]')
    page.wait_for_url(re.compile(r"sort=-visitors"))
    first = page.locator("#source-table tbody.category").first.get_attribute("data-source")
    assert first == "search"

    # The sub-sources open, and the unmapped label shows as text, not a formula.
    page.click('#source-table tbody.category[data-source="other"] button.toggle')
    assert page.locator("#sub-other").is_visible()

    # The definitions are one tap away.
    page.click('#source-table thead button[popovertarget="def-visitors"]')
    assert page.locator("#def-visitors").is_visible()
    page.keyboard.press("Escape")

    # Exports: the CSV and the XLSX of the same view.
    with page.expect_download() as download_info:
        page.click("#export-csv")
    csv_path = tmp_path / "report.csv"
    download_info.value.save_as(csv_path)
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    search_label = "搜索" if language == "zh-hans" else "Search"
    search = next(row for row in rows if len(row) > 3 and row[0] == search_label and row[1] == "")
    assert search[3] == "1092"
    assert any(row[2].startswith("'=HYPERLINK") for row in rows if len(row) > 3)

    with page.expect_download() as download_info:
        page.click("#export-xlsx")
    xlsx_path = tmp_path / "report.xlsx"
    download_info.value.save_as(xlsx_path)
    workbook = CalamineWorkbook.from_path(str(xlsx_path))
    sheet = workbook.get_sheet_by_index(0).to_python()
    search = next(row for row in sheet if row[0] == search_label and row[1] == "")
    assert search[3] == 1092

    # Search is an outlier on the latest day, so "what changed" lists it.
    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=latest")
    page.locator("#what-changed li").first.wait_for()
    assert page.locator('#what-changed li[data-source="search"]').count() >= 1
    _screenshot(page, f"report-changes-{suffix}.png", "#what-changed")
    _screenshot(page, f"report-coverage-{suffix}.png", "#coverage")
    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=custom&start=2026-10-01&end=2026-11-29")
    page.wait_for_function("() => window.Chart && Chart.getChart('mix-chart') !== undefined")
    _screenshot(page, f"report-charts-{suffix}.png", "#trend")


def test_report_works_without_javascript(live_server, browser, owner, store, sixty_days):
    context = browser.new_context(locale="zh-CN", java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        _log_in(page, live_server.url, owner.email)
        page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=custom&start=2026-11-23&end=2026-11-29")
        page.select_option('select[name="terminal"]', "pc")
        page.click("#report-filters button.apply")
        page.wait_for_url(re.compile(r"terminal=pc"))
        assert _search_visitors(page) == "1,092"
        # Without scripts the sub-sources stay visible.
        assert page.locator("#sub-other").is_visible()
        # No chart is drawn, so the empty boxes are hidden and the tables are open in their place.
        assert page.locator(".chart-box").count() == 2
        for box in page.locator(".chart-box").all():
            assert box.is_hidden()
        for table in ("#trend-table", "#mix-table"):
            assert page.locator(table).get_attribute("open") is not None
            assert page.locator(f"{table} table").is_visible()
    finally:
        context.close()


def test_chart_tables_closed_with_javascript(live_server, page, owner, store, sixty_days):
    _log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=custom&start=2026-11-23&end=2026-11-29")
    _wait_for_charts(page)
    for box in page.locator(".chart-box").all():
        assert box.is_visible()
    for table in ("#trend-table", "#mix-table"):
        assert page.locator(table).get_attribute("open") is None
        assert page.locator(f"{table} table").is_hidden()

    # The tables of a swapped-in body start closed too, and open on request.
    page.select_option('select[name="terminal"]', "pc")
    page.wait_for_url(re.compile(r"terminal=pc"))
    _wait_for_charts(page)
    assert page.locator("#trend-table").get_attribute("open") is None
    page.click("#trend-table summary")
    assert page.locator("#trend-table table").is_visible()


def test_custom_dates_typed_from_keyboard(live_server, page, owner, store, sixty_days):
    _log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=latest")
    page.locator("#source-table").wait_for()
    requests = _record_htmx_requests(page)

    # Typing From and moving on to To sends nothing, but marks the range as custom.
    _type_date(page, 'input[name="start"]', datetime.date(2026, 11, 1))
    assert requests == []
    assert page.input_value('input[name="start"]') == "2026-11-01"
    assert page.input_value("#range-select") == "custom"
    _tab_out_of(page, "start")
    assert page.evaluate("() => document.activeElement.name") == "end"
    _type_date(page, 'input[name="end"]', datetime.date(2026, 11, 15))
    assert requests == []
    assert page.input_value('input[name="end"]') == "2026-11-15"
    assert page.evaluate("() => document.activeElement.name") == "end"

    # Leaving the custom range applies both dates in one request.
    _tab_out_of(page, "end")
    page.wait_for_url(re.compile(r"end=2026-11-15"))
    assert len(requests) == 1
    assert "range=custom" in page.url
    assert "start=2026-11-01" in page.url
    assert page.input_value('input[name="start"]') == "2026-11-01"
    assert page.input_value('input[name="end"]') == "2026-11-15"
    # Focus stays on the control the user tabbed to, although htmx replaced it.
    page.locator("#source-table").wait_for()
    assert page.evaluate("() => document.activeElement.name") == "terminal"

    # Enter in a date field applies it, with one htmx request and no full page load.
    page_loads = []
    page.on("request", lambda request: page_loads.append(request.url) if request.resource_type == "document" else None)
    sent_before = len(requests)
    _type_date(page, 'input[name="end"]', datetime.date(2026, 11, 22))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"end=2026-11-22"))
    page.wait_for_load_state("networkidle")
    assert len(requests) == sent_before + 1
    assert page_loads == []

    # So does the Show button.
    _type_date(page, 'input[name="start"]', datetime.date(2026, 11, 8))
    page.click("#report-filters button.apply")
    page.wait_for_url(re.compile(r"start=2026-11-08"))
    assert "end=2026-11-22" in page.url
    assert not any("end=0" in url or "start=0" in url for url in requests), requests


def test_language_switch_keeps_filters(live_server, page, owner, store, sixty_days):
    _log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=custom&start=2026-11-23&end=2026-11-29")
    page.locator("#source-table").wait_for()
    page.select_option('select[name="terminal"]', "pc")
    page.wait_for_url(re.compile(r"terminal=pc"))

    page.click('form.language-switch button[value="en"]')
    page.wait_for_selector('html[lang="en"]')
    assert "terminal=pc" in page.url
    assert "start=2026-11-23" in page.url
    assert page.input_value('select[name="terminal"]') == "pc"


def test_series_picker_stays_open(live_server, page, owner, store, sixty_days):
    _log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=custom&start=2026-11-23&end=2026-11-29")
    page.locator("#source-table").wait_for()
    page.click(".series-picker summary")

    page.click('.series-options input[value="direct"]')
    page.wait_for_url(lambda url: "series=direct" not in url)
    page.locator("#source-table").wait_for()
    assert page.locator(".series-picker").get_attribute("open") is not None
    assert page.evaluate("() => document.activeElement.value") == "direct"

    # The picker stays usable for the next source, and closes when the user closes it.
    page.click('.series-options input[value="search"]')
    page.wait_for_url(lambda url: "series=search" not in url)
    assert page.locator(".series-picker").get_attribute("open") is not None
    page.click(".series-picker summary")
    page.select_option('select[name="terminal"]', "pc")
    page.wait_for_url(re.compile(r"terminal=pc"))
    assert page.locator(".series-picker").get_attribute("open") is None


def test_back_and_forward_without_console_errors(live_server, page, owner, store, sixty_days):
    errors = _record_errors(page)
    _log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=custom&start=2026-11-01&end=2026-11-29")
    _wait_for_charts(page)
    page.select_option('select[name="terminal"]', "pc")
    page.wait_for_url(re.compile(r"terminal=pc"))
    page.select_option('select[name="granularity"]', "week")
    page.wait_for_url(re.compile(r"granularity=week"))
    _wait_for_charts(page)

    page.go_back()
    page.wait_for_url(re.compile(r"granularity=day&range=custom&terminal=pc"))
    page.go_back()
    page.wait_for_url(re.compile(r"end=2026-11-29$"))
    _wait_for_charts(page)
    page.go_forward()
    page.wait_for_url(re.compile(r"granularity=day&range=custom&terminal=pc"))
    _wait_for_charts(page)
    assert _painted_pixels(page, "#trend-chart") > 500

    # htmx's history cache contains the pages without Chart.js's inline sizes, which the CSP would reject.
    cache = page.evaluate("() => sessionStorage.getItem('htmx-history-cache') || ''")
    assert "trend-chart" in cache
    assert "style=" not in cache
    # Restored sub-source buttons still open their rows.
    page.click('#source-table tbody.category[data-source="other"] button.toggle')
    assert page.locator("#sub-other").is_visible()
    assert errors == []


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_change_colours_follow_language(live_server, page, owner, store, sixty_days, language):
    # Chinese shows a rise in red and a fall in green, and English the other way round.
    red, green = "rgb(201, 42, 42)", "rgb(43, 138, 62)"
    rise, fall = (red, green) if language == "zh-hans" else (green, red)
    _log_in(page, live_server.url, owner.email, language)

    # Over these days search visitors rise on the week before and the conversion rate falls.
    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=custom&start=2026-11-23&end=2026-11-29")
    page.locator("#source-table").wait_for()
    color = "element => getComputedStyle(element).color"
    assert page.eval_on_selector('tbody.category[data-source="search"] td[data-metric="visitors"] .delta.up', color) == rise
    assert page.eval_on_selector('tbody.category[data-source="search"] td[data-metric="feedback_conversion_rate"] .delta.down', color) == fall

    page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=latest")
    page.locator('#what-changed li.change-up[data-source="search"]').first.wait_for()
    assert page.eval_on_selector('#what-changed li.change-up[data-source="search"] .arrow', color) == rise


def test_phone_source_names_on_one_line(live_server, browser, owner, store, sixty_days):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        _log_in(page, live_server.url, owner.email)
        page.goto(f"{live_server.url}/stores/{store.slug}/?granularity=day&range=custom&start=2026-11-23&end=2026-11-29")
        page.locator("#source-table").wait_for()
        # An inline element has one client rectangle per line it spans.
        labels = page.locator("#source-table tbody.category th .no-toggle")
        assert labels.count() >= 10
        for label in labels.all():
            assert label.evaluate("element => element.getClientRects().length") == 1, label.inner_text()
        # The table scrolls sideways inside its box, but the page itself does not.
        assert page.eval_on_selector("#sources .table-scroll", "element => element.scrollWidth > element.clientWidth")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
