from __future__ import annotations

import os

import pytest

# Tests never reach a model hub: fail fast instead of waiting on network time-outs.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Test models are tiny: one intra-op thread beats two that fight over two cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    from lab.tiny import build_tiny_checkpoints

    return build_tiny_checkpoints(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser), shared by the browser
    tests. CI installs Chromium, so there a missing one is a failure, not a skip."""
    from browser_support import CHROMIUM, launch_chromium

    if not CHROMIUM.exists():
        message = f"No Chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run does)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab (its own context: no cookies or storage shared between tests)."""
    from browser_support import PAGE_TIMEOUT_MS

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(PAGE_TIMEOUT_MS)
    yield tab
    context.close()
