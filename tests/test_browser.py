"""The dashboards in real Chromium, served by Voilà as `make dashboard` serves them.

Voilà runs on a free loopback port; Playwright drives Debian's Chromium (never a downloaded
browser). Screenshots land in test-output/screenshots/, measured times in
test-output/browser_timings.json (and on the terminal).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from browser_support import SCREENSHOTS, record_timing, start_voila

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SENTENCE = "The birch canoe slid on the smooth planks."
RUN_TIMEOUT_MS = 120_000
DASHBOARD_CLASSES = {
    "recognizer_comparison.ipynb": ".speechlab-recognizer-comparison",
    "robustness_sweep.ipynb": ".speechlab-robustness-sweep",
    "listening_test.ipynb": ".speechlab-listening-test",
}


def say(capsys, message: str) -> None:
    with capsys.disabled():
        print(f"\n[browser] {message}")


def _server_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str | None]:
    return {
        # an empty model cache: the bundled pair serves, whatever this machine has downloaded
        "HF_HOME": str(tmp / "hf"),
        "HF_HUB_CACHE": None,
        "SPEECHLAB_VOICES": str(tmp / "voices"),
        "SPEECHLAB_LISTENING_DB": str(tmp / "listening.sqlite"),
        "SPEECHLAB_ALLOWED_MODELS": None,
        "SPEECHLAB_DASHBOARD_MODELS": None,
        **(extra or {}),
    }


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("voila")
    server = start_voila(SCREENSHOTS.parent / "voila-bundled.log", _server_env(tmp))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def voila_tiny(tmp_path_factory, tiny):
    """Voilà offering only tiny random checkpoints (and the bundled pair) through
    SPEECHLAB_DASHBOARD_MODELS."""
    tmp = tmp_path_factory.mktemp("voila-tiny")
    models = tmp / "models"
    models.mkdir()
    speecht5 = models / "speecht5-tiny"
    shutil.copytree(tiny.speecht5, speecht5)
    shutil.copytree(tiny.hifigan, speecht5 / "vocoder")  # a SpeechT5 folder with its vocoder
    (models / "wav2vec2-tiny").symlink_to(tiny.wav2vec2, target_is_directory=True)
    (models / "hubert-tiny").symlink_to(tiny.hubert, target_is_directory=True)
    config = {
        "synthesizers": ["piper", str(speecht5)],
        "recognizers": ["pocketsphinx", str(models / "wav2vec2-tiny"), str(models / "hubert-tiny")],
        "voices": {"speecht5-tiny": [str(tiny.voice)]},
    }
    config_path = tmp / "dashboard-models.json"
    config_path.write_text(json.dumps(config))
    env = _server_env(tmp, {"SPEECHLAB_DASHBOARD_MODELS": str(config_path)})
    server = start_voila(SCREENSHOTS.parent / "voila-tiny.log", env)
    yield server
    server.stop()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # Voilà scrolls inside its own container, so a full-page shot needs a tall window
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2400})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def assert_no_error_shown(page) -> None:
    body = page.inner_text("body")
    assert "Traceback" not in body
    assert "There was an error when executing cell" not in body
    assert page.locator(".speechlab-error").count() == 0, body[:2000]


def status_text(page) -> str:
    return page.locator(".widget-html", has_text=re.compile("WER|⚠")).first.inner_text()


def run_and_wait(page) -> str:
    """Press Run, wait for the ✓ status line, and return it."""
    page.get_by_role("button", name="Run").click()
    ok = page.locator("text=/✓ WER/")
    ok.first.wait_for(timeout=RUN_TIMEOUT_MS)
    return ok.first.inner_text()


# --- the round-trip lab with the bundled pair -------------------------------------------------
def test_roundtrip_lab_runs_and_listens_again_when_noise_changes(voila, page, capsys):
    opened = time.perf_counter()
    page.goto(voila.render_url("roundtrip_lab.ipynb"))
    page.get_by_role("button", name="Run").wait_for(state="visible")
    interactive_s = time.perf_counter() - voila.started_at
    open_s = time.perf_counter() - opened
    record_timing("voila_start_to_interactive_roundtrip_lab_s", interactive_s)
    record_timing("page_open_to_interactive_roundtrip_lab_s", open_s)
    say(
        capsys,
        f"Voilà start → interactive round-trip lab: {interactive_s:.1f} s "
        f"(server answered after {voila.ready_s:.1f} s; page open → interactive {open_s:.1f} s)",
    )
    assert_no_error_shown(page)
    models = page.locator(".speechlab-models").inner_text()
    assert "piper" in models and "pocketsphinx" in models
    assert "bundled Piper voice and PocketSphinx stand in" in page.inner_text("body")

    page.locator("textarea").first.fill(SENTENCE)
    started = time.perf_counter()
    clean_status = run_and_wait(page)
    record_timing("roundtrip_run_bundled_s", time.perf_counter() - started)
    assert "heard" in clean_status
    scores = page.locator(".speechlab-scores")
    assert scores.is_visible()
    clean_scores = scores.inner_text()
    assert all(name in clean_scores for name in ("WER", "CER", "BLEU", "chrF"))
    assert page.locator(".speechlab-audio-player audio").count() >= 2
    assert page.locator(".js-plotly-plot:visible").count() >= 1
    # Piper has no attention and PocketSphinx no emissions: those views stay hidden
    assert not page.locator(".widget-html", has_text="CTC emissions").first.is_visible()
    screenshot(page, "roundtrip_lab_clean")

    # The loudest noise the slider offers: keyboard Home on the SNR slider's handle.
    slider = page.locator(".widget-hslider", has_text="SNR").locator(".noUi-handle")
    slider.focus()
    page.keyboard.press("Home")
    page.locator("text=/synthesis reused/").first.wait_for(timeout=RUN_TIMEOUT_MS)
    # the status line and the scores are separate widgets: their updates reach the page apart
    from playwright.sync_api import expect

    expect(scores).not_to_have_text(clean_scores, timeout=RUN_TIMEOUT_MS)
    assert "dB" in page.locator(".speechlab-audio-player").nth(1).inner_text()
    assert page.locator("text=/✓ WER/").first.inner_text() != clean_status
    screenshot(page, "roundtrip_lab_noisy")


# --- every other dashboard -------------------------------------------------------------------
def test_landing_page_links_every_dashboard(voila, page):
    page.goto(voila.render_url("index.ipynb"))
    page.locator(".speechlab-models").wait_for()
    assert_no_error_shown(page)
    for target in ("roundtrip_lab.ipynb", *DASHBOARD_CLASSES):
        assert page.locator(f"a[href$='{target}']").count() == 1, target
    screenshot(page, "index")
    page.locator("a[href$='robustness_sweep.ipynb']").click()
    page.locator(DASHBOARD_CLASSES["robustness_sweep.ipynb"]).wait_for()


def test_recognizer_comparison_compares(voila, page):
    page.goto(voila.render_url("recognizer_comparison.ipynb"))
    page.locator(DASHBOARD_CLASSES["recognizer_comparison.ipynb"]).wait_for()
    assert_no_error_shown(page)
    page.get_by_role("button", name="Compare").click()
    page.locator("text=/✓ .*recognisers? on/").first.wait_for(timeout=RUN_TIMEOUT_MS)
    assert (
        "pocketsphinx"
        in page.locator(DASHBOARD_CLASSES["recognizer_comparison.ipynb"]).inner_text()
    )
    screenshot(page, "recognizer_comparison")


def test_robustness_sweep_draws_its_lines_and_stops(voila, page):
    from playwright.sync_api import expect

    page.goto(voila.render_url("robustness_sweep.ipynb"))
    root = page.locator(DASHBOARD_CLASSES["robustness_sweep.ipynb"])
    root.wait_for()
    assert_no_error_shown(page)
    run, stop = (
        root.get_by_role("button", name="Run sweep"),
        root.get_by_role("button", name="Stop"),
    )
    expect(stop).to_be_hidden()
    run.click()
    root.locator(".speechlab-download, a[download]").first.wait_for(timeout=RUN_TIMEOUT_MS)
    assert root.locator(".js-plotly-plot .scatterlayer .trace").count() >= 1
    expect(root).to_contain_text("Done: 15 jobs")
    screenshot(page, "robustness_sweep")

    # the sweep runs on a thread: the page answers the Stop button while it runs
    run.click()
    expect(stop).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(
        root.locator(".widget-label", has_text=re.compile(r"^[1-9]\d* of 15 jobs"))
    ).to_be_visible(timeout=RUN_TIMEOUT_MS)
    stop.click()
    expect(root).to_contain_text("Stopped:", timeout=RUN_TIMEOUT_MS)
    expect(stop).to_be_hidden()
    expect(run).to_be_enabled()


def test_listening_test_starts_a_session(voila, page):
    page.goto(voila.render_url("listening_test.ipynb"))
    root = page.locator(DASHBOARD_CLASSES["listening_test.ipynb"])
    root.wait_for()
    assert_no_error_shown(page)
    root.locator("input[placeholder='your name or a code']").fill("browser-test")
    page.get_by_role("button", name="Start").click()
    root.get_by_role("button", name="Save and next").wait_for()
    assert root.locator(".speechlab-audio-player audio").count() == 1
    screenshot(page, "listening_test")


# --- tiny neural checkpoints: the attention and emission views -------------------------------
def test_tiny_neural_checkpoints_show_attention_and_emissions_labelled_untrained(
    voila_tiny, page, capsys
):
    page.goto(voila_tiny.render_url("roundtrip_lab.ipynb"))
    page.get_by_role("button", name="Run").wait_for(state="visible")
    assert_no_error_shown(page)
    page.locator(".widget-dropdown", has_text="synthesizer").locator("select").select_option(
        label="speecht5-tiny"
    )
    page.locator(".widget-dropdown", has_text="recognizer").locator("select").select_option(
        label="wav2vec2-tiny"
    )
    page.locator("textarea").first.fill(SENTENCE)
    started = time.perf_counter()
    run_and_wait(page)
    say(
        capsys,
        f"tiny SpeechT5 + wav2vec2 round trip in the browser: "
        f"{time.perf_counter() - started:.1f} s",
    )
    assert page.locator(".speechlab-untrained").first.is_visible()
    # SpeechT5's cross-attention and the CTC emissions: views the bundled pair cannot fill
    attention = page.locator(".widget-html", has_text=re.compile(r"^Attention")).first
    emissions = page.locator(".widget-html", has_text="CTC emissions").first
    assert attention.is_visible() and emissions.is_visible()
    assert page.locator(".js-plotly-plot:visible").count() >= 3
    screenshot(page, "roundtrip_lab_tiny_neural")
