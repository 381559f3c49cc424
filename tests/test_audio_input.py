from __future__ import annotations

import io
import os

import numpy as np
import pytest
import soundfile as sf
from widget_fixtures import choose_file

from lab.audio import MAX_FILE_BYTES, Audio
from lab.errors import InvalidAudioError
from widgets.audio_input import AudioInput, read_upload
from widgets.microphone_recorder import MicrophoneRecorder


def _tone(seconds: float = 0.5, rate: int = 22050, amplitude: float = 0.3) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)


def _upload(view: AudioInput, content: bytes, name: str) -> None:
    choose_file(view.upload, content, name)


def _encoded(audio: Audio, fmt: str, subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio.samples, audio.sample_rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "subtype"), [("WAV", "PCM_16"), ("FLAC", None), ("OGG", "VORBIS"), ("OGG", "OPUS")]
)
def test_upload_emits_audio_to_observers(fmt, subtype, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    view = AudioInput()
    seen = []
    view.observe(lambda change: seen.append(change["new"]), names="value")
    rate = 48000 if subtype == "OPUS" else 22050
    _upload(view, _encoded(_tone(rate=rate), fmt, subtype), f"clip.{fmt.lower()}")
    assert len(seen) == 1
    assert seen[0].sample_rate == rate
    assert seen[0].duration_s == pytest.approx(0.5, abs=0.02)
    assert view.source == f"upload: clip.{fmt.lower()}"
    assert "0.5 s" in view.status.value and view.status.kind == "ok"
    assert not any(isinstance(v, (bytes, memoryview)) for v in view.upload.get_state().values())
    assert os.listdir(tmp_path) == []  # nothing written to disk


def test_visitor_supplied_name_is_never_a_path_and_is_escaped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    view = AudioInput()
    _upload(view, b"not audio at all" * 10, "../../<img src=x onerror=alert(1)>.wav")
    assert view.value is None
    assert view.status.kind == "error"
    assert "<img" not in view.status.value
    assert "&lt;img src=x onerror=alert(1)&gt;.wav is not readable audio" in view.status.value
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "clip.wav is empty (0 bytes): choose another file."),
        (
            b"RIFF\x00\x00\x00\x00WAVEfmt garbage",
            "clip.wav is not readable audio (corrupt, or not WAV, FLAC, OGG or MP3): "
            "choose another file.",
        ),
        (
            b"\x1a\x45\xdf\xa3" + bytes(200),
            "clip.wav is WebM/Matroska audio, which cannot be read here: convert it to WAV, FLAC, "
            "OGG or MP3.",
        ),
        (
            b"\x00\x00\x00\x20ftypM4A " + bytes(200),
            "clip.wav is MP4/M4A (AAC) audio, which cannot be read here: convert it to WAV, FLAC, "
            "OGG or MP3.",
        ),
    ],
)
def test_bad_files_get_one_sentence_and_keep_previous_clip(content, expected):
    view = AudioInput()
    good = _tone()
    view.set_audio(good)
    _upload(view, content, "clip.wav")
    assert view.value is good
    assert view.message == expected


def test_oversized_and_overlong_uploads_are_refused():
    wav = _tone(seconds=2.0, rate=16000).to_wav_bytes()
    view = AudioInput(max_bytes=10_000)
    _upload(view, wav, "big.wav")
    assert view.value is None
    assert (
        view.message == "big.wav is 64 kB; the limit is 10 kB: upload a shorter or compressed clip."
    )
    # the browser's limit is the view's: a later change reaches the button too
    view.max_bytes = 100_000
    assert view.upload.max_bytes == 100_000
    _upload(view, wav, "big.wav")
    assert view.value is not None and view.value.duration_s == pytest.approx(2.0)
    view.max_bytes = 10**12
    assert view.max_bytes == view.upload.max_bytes == MAX_FILE_BYTES
    long_view = AudioInput(max_seconds=1.0)
    _upload(long_view, wav, "long.wav")
    assert long_view.value is None
    assert long_view.message == "The clip lasts 2 s; this view takes up to 1 s: cut it shorter."


def test_read_upload_limit_message_names_sizes():
    with pytest.raises(InvalidAudioError, match=r"^x\.wav is 3\.0 MB; the limit is 2\.5 MB"):
        read_upload(b"RIFF" + bytes(2_999_996), "dir/x.wav", max_bytes=2_500_000)


def test_silent_and_clipped_clips_are_accepted_with_a_note():
    view = AudioInput()
    _upload(view, Audio(np.zeros(8000, np.float32), 16000).to_wav_bytes(), "quiet.wav")
    assert view.value is not None and "silent" in view.message
    loud = np.clip(np.sin(np.arange(8000) / 3) * 4, -1, 1).astype(np.float32)
    _upload(view, Audio(loud, 16000).to_wav_bytes(), "loud.wav")
    assert "clipped" in view.message


def test_microphone_recording_arrives_as_wav_bytes():
    view = AudioInput()
    seen = []
    view.observe(lambda change: seen.append(change["new"]), names="value")
    recording = _tone(seconds=0.8, rate=48000).to_wav_bytes()
    # the browser sets the binary trait; the comm hands Python a memoryview
    view.recorder.set_state({"recording": memoryview(recording)})
    assert isinstance(view.recorder.recording, bytes)
    assert len(seen) == 1 and seen[0].sample_rate == 48000
    assert seen[0].duration_s == pytest.approx(0.8, abs=1e-3)
    assert view.source == "microphone"
    assert view.message.startswith("Using the recording: 0.8 s at 48000 Hz")


def test_browser_refusal_is_shown_as_sentence():
    view = AudioInput()
    view.recorder.set_state(
        {"error": "The browser refused the microphone: allow it for this page."}
    )
    assert view.message == "The browser refused the microphone: allow it for this page."
    assert view.value is None


def test_recorder_alone_and_disabled_state():
    recorder = MicrophoneRecorder(max_seconds=5)
    assert recorder.audio() is None
    recorder.recording = _tone(0.3, 16000).to_wav_bytes()
    assert recorder.audio().duration_s == pytest.approx(0.3, abs=1e-3)
    view = AudioInput(microphone=False)
    assert view.recorder is None
    view.disabled = True
    assert view.upload.disabled
    with pytest.raises(Exception, match="max_seconds"):
        MicrophoneRecorder(max_seconds=0)


_RECORDER_PAGE = """<!doctype html><meta charset="utf-8"><div id="host"></div>
<script type="module">
import recorder from "/microphone_recorder.js";
const state = {recording: null, state: "idle", error: "", max_seconds: %s, disabled: false};
const listeners = {};
const fire = (key) => (listeners["change:" + key] || []).forEach((f) => f());
const model = {
  get: (key) => state[key],
  set: (key, value) => {
    const changes = typeof key === "object" ? key : {[key]: value};
    for (const [k, v] of Object.entries(changes)) { state[k] = v; fire(k); }
  },
  on: (event, f) => { (listeners[event] ||= []).push(f); },
  save_changes: () => {},
};
window.recorderState = state;
recorder.render({model, el: document.getElementById("host")});
</script>"""

_READ_RECORDING = """() => {
  const v = window.recorderState.recording;
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}"""


@pytest.mark.browser
@pytest.mark.parametrize(("max_seconds", "stop_after_s"), [(1.0, None), (10.0, 0.8)])
def test_recorder_js_records_wav_that_lab_reads(tmp_path, max_seconds, stop_after_s):
    """The real module in Chromium with its fake microphone: the bytes it sends are a WAV file
    lab.Audio.load reads, as long as the recording (auto-stop or the stop button)."""
    import base64
    import functools
    import http.server
    import shutil
    import threading
    from pathlib import Path

    playwright_api = pytest.importorskip("playwright.sync_api")
    from browser_support import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    shutil.copy(Path(__file__).parent.parent / "widgets" / "microphone_recorder.js", tmp_path)
    (tmp_path / "index.html").write_text(_RECORDER_PAGE % max_seconds)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[
                    *CHROMIUM_ARGS,
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    "--autoplay-policy=no-user-gesture-required",
                ],
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            button = page.locator("button.speechlab-record-button")
            button.wait_for()
            assert button.inner_text() == "● Record"
            button.click()
            page.wait_for_function("window.recorderState.state === 'recording'", timeout=10_000)
            if stop_after_s is not None:
                page.wait_for_timeout(stop_after_s * 1000)
                assert button.inner_text() == "■ Stop"
                button.click()
            page.wait_for_function("window.recorderState.recording !== null", timeout=15_000)
            assert page.evaluate("window.recorderState.error") == ""
            assert page.evaluate("window.recorderState.state") == "idle"
            wav = base64.b64decode(page.evaluate(_READ_RECORDING))
            browser.close()
    finally:
        server.shutdown()
    recorder = MicrophoneRecorder()
    recorder.set_state({"recording": memoryview(wav)})
    audio = recorder.audio()
    assert audio.sample_rate in (44100, 48000)
    expected = max_seconds if stop_after_s is None else stop_after_s
    assert expected - 0.05 <= audio.duration_s <= expected + 0.5
    assert audio.peak > 0.01  # the fake microphone beeps
