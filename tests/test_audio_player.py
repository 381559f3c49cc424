from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import widgets.audio_player
from lab import Audio
from widgets._common import measure_wire
from widgets.audio_player import AudioPlayer


def chirp(seconds: float = 1.5, sample_rate: int = 16000) -> Audio:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return Audio(0.4 * np.sin(2 * np.pi * (200 + 300 * t) * t), sample_rate)


def test_audio_goes_to_the_browser_as_wav_bytes_in_a_binary_buffer():
    audio = chirp()
    with measure_wire() as meter:
        player = AudioPlayer(label="clean", format="wav")
        player.set_audio(audio)
    samples, rate = sf.read(io.BytesIO(player.value))
    assert rate == 16000
    assert player.mime_type == "audio/wav"
    assert samples.shape == audio.samples.shape
    assert np.abs(samples - audio.samples).max() < 1e-3
    assert player.duration_s == pytest.approx(1.5)
    # the WAV travels as a buffer (2 bytes a sample), not as a JSON list of numbers
    assert 48_000 < meter.total_bytes < 60_000


def test_players_send_mp3_by_default_a_fraction_of_the_wav_and_in_time():
    audio = chirp()
    with measure_wire() as meter:
        player = AudioPlayer(audio, label="clean")
    assert player.mime_type == "audio/mpeg"
    samples, rate = sf.read(io.BytesIO(player.value))
    assert rate == 16000
    # the same length, so word times and the playhead still line up
    assert abs(samples.size - audio.samples.size) <= 0.01 * audio.samples.size
    n = min(samples.size, audio.samples.size)
    assert np.corrcoef(samples[:n], audio.samples[:n])[0, 1] > 0.95
    assert meter.total_bytes < 48_000 / 3


def test_set_audio_rewinds_and_none_empties_the_player():
    player = AudioPlayer(chirp())
    player.current_time = 0.9  # as the browser would report
    player.set_audio(chirp(0.5))
    assert player.current_time == 0.0
    assert player.duration_s == pytest.approx(0.5)
    player.set_audio(None)
    assert player.value == b"" and player.duration_s == 0.0


def test_play_range_sends_a_request_clamped_to_the_clip(monkeypatch):
    player = AudioPlayer(chirp(1.5))
    sent = []
    monkeypatch.setattr(player, "send", sent.append)
    player.play_range(0.25, 0.75)
    player.play_range(1.2, 9.0)
    player.seek(-3)
    assert sent == [
        {"type": "play_range", "start_s": 0.25, "end_s": 0.75},
        {"type": "play_range", "start_s": 1.2, "end_s": 1.5},
        {"type": "seek", "time_s": 0.0},
    ]
    assert player.last_request == sent[-1]
    with pytest.raises(ValueError):
        player.seek(float("nan"))


def test_current_time_reports_reach_python_observers():
    player = AudioPlayer(chirp())
    seen = []
    player.observe(lambda change: seen.append(change["new"]), names="current_time")
    # what the browser does: set the synced trait from a state message
    player.set_state({"current_time": 0.4})
    player.set_state({"current_time": 0.5})
    assert seen == [0.4, 0.5]


def test_the_browser_module_handles_every_request_python_sends():
    script = (Path(widgets.audio_player.__file__).parent / "audio_player.js").read_text()
    assert str(AudioPlayer._esm) == script
    for kind in ("play_range", "seek", "play", "pause"):
        assert f'"{kind}"' in script
    assert "throttle_ms" in script and "current_time" in script
    assert "export default" in script


BROWSER_HARNESS = r"""
const listeners = {};
const audio = {
  currentTime: 0, paused: true, readyState: 4, src: "", controls: false, style: {},
  played: 0, pausedCalls: 0,
  addEventListener(name, fn) { (listeners[name] ||= []).push(fn); },
  removeAttribute() {}, load() {},
  play() { this.paused = false; this.played++; fire("play"); return Promise.resolve(); },
  pause() { this.paused = true; this.pausedCalls++; fire("pause"); },
};
function fire(name) { for (const fn of listeners[name] || []) fn(); }
const element = () => ({ style: {}, append() {}, textContent: "" });
globalThis.document = { createElement: (tag) => (tag === "audio" ? audio : element()) };
globalThis.URL.createObjectURL = () => "blob:wav";
globalThis.URL.revokeObjectURL = () => {};
let frames = [];
globalThis.requestAnimationFrame = (fn) => { frames.push(fn); return frames.length; };
globalThis.cancelAnimationFrame = () => {};
let now = 0;
globalThis.performance = { now: () => now };

const state = { value: new DataView(new Uint8Array([82, 73, 70, 70]).buffer), label: "heard",
                throttle_ms: 100, current_time: 0, playing: false };
const handlers = {};
const reports = [];
const model = {
  get: (k) => state[k],
  set: (k, v) => { state[k] = v; },
  save_changes: () => reports.push({ current_time: state.current_time, playing: state.playing }),
  on: (name, fn) => { handlers[name] = fn; },
  off: () => {},
};
const { default: widget } = await import(process.argv[2]);
widget.render({ model, el: { append() {} } });
function runFrame(t, time) { now = t; audio.currentTime = time; const f = frames; frames = []; f.forEach((fn) => fn()); }

handlers["msg:custom"]({ type: "play_range", start_s: 0.5, end_s: 0.8 });
const started = { time: audio.currentTime, played: audio.played };
runFrame(10, 0.55);   // first frame: reported
runFrame(60, 0.60);   // 50 ms later: throttled
runFrame(120, 0.65);  // 110 ms after the last report: reported
runFrame(150, 0.70);  // throttled
runFrame(260, 0.82);  // past the end of the range: paused and reported
console.log(JSON.stringify({ started, reports, paused: audio.paused, src: audio.src }));
"""


def test_browser_module_plays_a_range_stops_at_its_end_and_throttles_reports(tmp_path):
    import json
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is needed to run the browser module outside a browser")
    harness = tmp_path / "harness.mjs"
    harness.write_text(BROWSER_HARNESS)
    module = Path(widgets.audio_player.__file__).parent / "audio_player.js"
    out = subprocess.run(
        [node, str(harness), module.as_uri()],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["started"] == {"time": 0.5, "played": 1}
    assert result["src"] == "blob:wav"
    times = [r["current_time"] for r in result["reports"]]
    # "play" saves playing=true; then one report per 100 ms; the pause at the range end reports
    assert result["reports"][0]["playing"] is True
    assert times[1:] == [0.55, 0.65, 0.82]  # 0.60 and 0.70 came within 100 ms of a report
    assert result["paused"] is True and result["reports"][-1]["playing"] is False
