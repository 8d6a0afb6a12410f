"""Shared set-up for the tests that drive Debian's Chromium through Playwright's sync API.

Import the fixtures into a test module (`from tests.browser import ...`) and
define a `page` fixture there with `open_page(browser, locale)`.
"""

from pathlib import Path

import pytest

from config.celery import app as celery_app
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TIMEOUT_MS = 20_000

browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing; install Debian's chromium package"),
]


@pytest.fixture(scope="module", autouse=True)
def allow_sync_database_calls():
    """Let fixtures use the database while Playwright's event loop runs in this thread.

    Playwright's sync API keeps an asyncio loop running, which Django's
    async-safety check takes for async code. Nothing here is async, so the
    check is switched off for the module that uses this fixture.
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


def open_page(browser, locale: str, **context_options):
    """Return (context, page) with a desktop viewport and the default timeout; close the context after use."""
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900}, **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def eager_imports(settings):
    """Run Celery tasks inside the request that queues them, once its transaction commits."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def log_in(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")


def painted_pixels(page, selector: str) -> int:
    """Return how many pixels of a canvas are not fully transparent."""
    return page.eval_on_selector(
        selector,
        """canvas => {
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
            return painted;
        }""",
    )


def screenshot(page, name: str, folder: Path = ARTIFACTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)
