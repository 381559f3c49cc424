"""Bad uploads and bursts of clicks in real Chromium, through Voilà as `make dashboard` serves it.

Each bad file gets one sentence under the upload button and the page keeps working; five clicks
on Run made before the page hears that a run started give one run, not five.
"""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
import soundfile as sf
from browser_support import SCREENSHOTS, start_voila

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

RUN_TIMEOUT_MS = 120_000


def wav(seconds: float, rate: int = 16000, channels: int = 1) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t)
    samples = np.stack([wave] * channels, axis=1) if channels > 1 else wave
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


UPLOADS = [
    # (file name, bytes, what the status line under the button says)
    (
        "slides.pdf",
        b"%PDF-1.7\n" + bytes(range(256)) * 8,
        "⚠ slides.pdf is not readable audio (corrupt, or not WAV, FLAC, OGG or MP3): choose "
        "another file.",
    ),
    (
        "cut.wav",
        wav(2.0)[:16044],
        "⚠ cut.wav is truncated: its header announces 2.00 s but only 0.50 s arrived; upload the "
        "whole file.",
    ),
    ("zero.wav", wav(0.0), "⚠ zero.wav holds no samples (0 seconds)."),
    (
        "surround.wav",
        wav(0.5, channels=8),
        "✓ Using surround.wav: 0.5 s at 16000 Hz, 8 channels mixed to mono.",
    ),
    ("studio.wav", wav(0.5, rate=96000), "✓ Using studio.wav: 0.5 s at 96000 Hz."),
    ("good.wav", wav(1.0), "✓ Using good.wav: 1.0 s at 16000 Hz."),
]


OVER_LIMIT = [
    # (file name, its size on disk): the browser refuses these before sending a byte
    ("lecture.wav", 60_000_000),
    ("hour.wav", 3600 * 44100 * 2 * 2 + 44),  # an hour of 44.1 kHz stereo 16-bit WAV, 635 MB
]


def sparse_wav(path, size: int) -> None:
    """A WAV header followed by zeros up to ``size`` bytes, which take no room on disk."""
    with path.open("wb") as f:
        f.write(wav(0.1)[:44])
        f.truncate(size)


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("voila-robustness")
    env = {
        "HF_HOME": str(tmp / "hf"),
        "SPEECHLAB_LISTENING_DB": str(tmp / "listening.sqlite"),
        "SPEECHLAB_ALLOWED_MODELS": None,
        "SPEECHLAB_DASHBOARD_MODELS": None,
    }
    server = start_voila(SCREENSHOTS.parent / "voila-robustness.log", env)
    yield server
    server.stop()


def assert_no_traceback(page) -> None:
    body = page.inner_text("body")
    assert "Traceback" not in body and "site-packages" not in body
    assert page.locator(".speechlab-error").count() == 0, body[:2000]


def test_bad_uploads_get_one_sentence_and_the_page_keeps_working(voila, page, tmp_path):
    page.goto(voila.render_url("recognizer_comparison.ipynb"))
    root = page.locator(".speechlab-recognizer-comparison")
    root.wait_for()
    page.get_by_role("button", name="Upload or record").click()
    audio_input = root.locator(".speechlab-audio-input")
    audio_input.wait_for()
    for name, content, expected in UPLOADS:
        with page.expect_file_chooser() as chooser:
            audio_input.get_by_role("button", name=re.compile("Upload audio")).click()
        chooser.value.set_files({"name": name, "mimeType": "audio/wav", "buffer": content})
        status = audio_input.locator(".widget-html", has_text=re.compile(re.escape(name)))
        status.wait_for()
        assert status.inner_text().strip() == expected
        assert_no_traceback(page)
    # files over the 50 MB limit: one sentence, and the good clip before them stays chosen
    for name, size in OVER_LIMIT:
        path = tmp_path / name
        sparse_wav(path, size)
        with page.expect_file_chooser() as chooser:
            audio_input.get_by_role("button", name=re.compile("Upload audio")).click()
        chooser.value.set_files(str(path))
        status = audio_input.locator(".widget-html", has_text=re.compile(re.escape(name)))
        status.wait_for()
        assert status.inner_text().strip() == (
            f"⚠ {name} is {size / 1e6:.1f} MB; the limit is 50.0 MB: upload a shorter or "
            "compressed clip."
        )
        assert_no_traceback(page)
    # the last good clip is used: the comparison runs on it
    root.locator("input[placeholder^='what the clip says']").fill("a tone")
    page.get_by_role("button", name="Compare").click()
    page.locator("text=/✓ 1 recognisers on 1.0 s of audio/").wait_for(timeout=RUN_TIMEOUT_MS)
    assert_no_traceback(page)
    page.screenshot(path=str(SCREENSHOTS / "robustness_uploads.png"), full_page=True)


COUNT_DISABLED = """
button => {
    window.runsStarted = 0;
    new MutationObserver(() => { if (button.disabled) window.runsStarted += 1; })
        .observe(button, {attributes: true, attributeFilter: ["disabled"]});
}
"""


def test_rapid_clicks_on_run_start_one_run_and_keep_the_result(voila, page):
    page.goto(voila.render_url("roundtrip_lab.ipynb"))
    run = page.get_by_role("button", name="Run")
    run.wait_for(state="visible")
    page.locator("textarea").first.fill("The birch canoe slid on the smooth planks.")
    run.evaluate(COUNT_DISABLED)
    # five clicks in one go: all are sent before the kernel can say the button is disabled
    run.evaluate("button => { for (let i = 0; i < 5; i++) button.click(); }")
    done = page.locator("text=/✓ WER/").first
    done.wait_for(timeout=RUN_TIMEOUT_MS)
    first_status = done.inner_text()
    time.sleep(4)  # queued clicks would start their runs within milliseconds of this one's end
    assert page.evaluate("window.runsStarted") == 1
    assert not run.is_disabled()
    assert page.locator("text=/✓ WER/").first.inner_text() == first_status
    assert page.locator(".speechlab-scores").is_visible()
    assert_no_traceback(page)

    # a deliberate click afterwards is a new run
    run.click()
    page.wait_for_function("window.runsStarted >= 2", timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(
        "button => !button.disabled", arg=run.element_handle(), timeout=RUN_TIMEOUT_MS
    )
    assert page.evaluate("window.runsStarted") == 2
    assert page.locator("text=/✓ WER/").first.is_visible()
    page.screenshot(path=str(SCREENSHOTS / "robustness_rapid_clicks.png"), full_page=True)
