"""The shared model service: one loaded copy of each model, served to thin kernels."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import lab
from lab import model_cache, service
from lab.audio import Audio

pytestmark = pytest.mark.timeout(300)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tiny):
    """A service on a free loopback port; this process uses it while the tests run."""
    port = free_port()
    process = service.start(port=port, preload=["pocketsphinx"])
    address = f"tcp://127.0.0.1:{port}"
    service.use(address)
    try:
        yield address, process
    finally:
        service.use(None)
        service.stop(address)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def tts(tiny) -> str:
    return f"{tiny.speecht5}+{tiny.hifigan}"


def test_remote_results_equal_the_ones_made_in_process(served, tiny):
    remote = lab.roundtrip("Hello there.", tts(tiny), str(tiny.wav2vec2), voice=str(tiny.voice))
    assert isinstance(lab.models.get_recognizer(str(tiny.wav2vec2)), service.RemoteRecognizer)
    with service_off():
        lab.clear_cache()
        local = lab.roundtrip("Hello there.", tts(tiny), str(tiny.wav2vec2), voice=str(tiny.voice))
    np.testing.assert_allclose(remote.synthesis.audio.samples, local.synthesis.audio.samples,
                               atol=1e-5)  # fmt: skip
    assert remote.synthesis.cross_attention.shape == local.synthesis.cross_attention.shape
    assert remote.recognition.text == local.recognition.text
    np.testing.assert_allclose(remote.recognition.emissions, local.recognition.emissions, atol=1e-4)
    # an untrained model stays labelled untrained when it comes from the service
    assert remote.synthesis.untrained and remote.recognition.untrained


class service_off:
    def __enter__(self):
        service.use(None)

    def __exit__(self, *exc):
        service.use(service_address[0])


service_address: list[str] = []


@pytest.fixture(autouse=True)
def _remember(served):
    service_address[:] = [served[0]]


def test_visitors_running_the_same_sentence_share_one_forward_pass(served, tiny):
    rec = lab.models.get_recognizer(str(tiny.hubert))
    clip = lab.synthesize("Rice is often served in round bowls.", "piper").audio
    alone = rec.recognize(clip)
    before = service.status()
    results: list[lab.Recognition] = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(rec.recognize(lab.add_noise(clip, 20, seed=s))))
        for s in range(6)
    ]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = service.status()
    assert len(results) == 6
    served_now = after["recognitions"] - before["recognitions"]
    passes = after["forward_passes"] - before["forward_passes"]
    assert served_now == 6 and passes < 6, after
    # a batched clip hears what it hears alone
    quiet = rec.recognize(clip)
    assert quiet.text == alone.text


def test_the_landing_page_lists_what_the_service_holds(served, tiny):
    from widgets.dashboard import service_panel

    lab.models.get_recognizer("pocketsphinx")
    panel = service_panel().value
    assert "Shared model service" in panel and "pocketsphinx" in panel
    assert str(tiny.wav2vec2.parent) not in panel  # no server paths, only folder names


def test_errors_arrive_as_one_sentence(served):
    with pytest.raises(lab.LabError) as caught:
        lab.models.get_recognizer("no-such-model-anywhere")
    assert "\n" not in str(caught.value)


def test_a_budget_evicts_the_least_recently_used_model_and_reloads_it_on_demand(tiny):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    # the tiny wav2vec2 and HuBERT are ~0.1 MB each: a budget of 0.15 MB holds one of them
    process = service.start(port=port, budget_mb=0.15)
    try:
        service.use(address)
        audio = Audio(np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1,
                      16_000)  # fmt: skip
        first = lab.models.get_recognizer(str(tiny.wav2vec2)).recognize(audio)
        lab.models.get_recognizer(str(tiny.hubert)).recognize(audio)
        state = service.status()
        keys = [m["key"] for m in state["loaded"]]
        assert state["evictions"] == 1 and keys == [f"recognizer {tiny.hubert}"], state
        again = lab.models.get_recognizer(str(tiny.wav2vec2)).recognize(audio)
        assert again.text == first.text  # loaded again when asked for
        assert [m["key"] for m in service.status()["loaded"]] == [f"recognizer {tiny.wav2vec2}"]
    finally:
        service.use(service_address[0] if service_address else None)
        service.stop(address)
        process.wait(timeout=30)


def test_a_dead_service_is_one_sentence_and_the_next_request_restarts_it(tiny, monkeypatch):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    process = service.start(port=port)
    try:
        service.use(address)
        monkeypatch.setenv(service.AUTOSTART_ENV, "1")
        assert lab.roundtrip("Hello.", "piper", "pocketsphinx").scores.wer is not None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        lab.clear_cache()
        with pytest.raises(service.ServiceUnavailableError) as caught:
            lab.roundtrip("Hello again.", "piper", "pocketsphinx")
        message = str(caught.value)
        assert "\n" not in message and "Run again" in message
        # the next request starts a new service on the same port and gets its answer
        result = lab.roundtrip("Hello again.", "piper", "pocketsphinx")
        assert result.recognition.text
        assert service.running(address)
    finally:
        service.use(service_address[0] if service_address else None)
        service.stop(address)


def test_a_notebook_can_go_back_to_loading_models_in_process(served, tiny):
    with service_off():
        rec = lab.models.get_recognizer(str(tiny.wav2vec2))
        assert not isinstance(rec, service.RemoteRecognizer)
    assert isinstance(lab.models.get_recognizer(str(tiny.wav2vec2)), service.RemoteRecognizer)


def test_without_a_running_service_the_error_says_how_to_start_it(monkeypatch):
    port = free_port()
    monkeypatch.delenv(service.AUTOSTART_ENV, raising=False)
    service.use(f"tcp://127.0.0.1:{port}")
    try:
        with pytest.raises(service.ServiceUnavailableError, match="speechlab service start"):
            lab.models.get_synthesizer("piper")
    finally:
        service.use(service_address[0])


THIN_KERNEL = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import widgets
    from widgets.roundtrip_lab import RoundTripLab
    from widgets.recognizer_comparison import RecognizerComparison

    lab_view = RoundTripLab(synthesizers=["piper"], recognizers=["pocketsphinx"])
    lab_view.run()
    lab_view.snr_slider.value = 10.0
    comparison = RecognizerComparison(["pocketsphinx"], synthesizer="piper")
    maps = Path("/proc/self/maps").read_text()
    print(json.dumps({
        "status": lab_view.status.value,
        "torch_imported": "torch" in sys.modules,
        "libtorch_mapped": "libtorch" in maps,
        "spectrogram_drawn": lab_view.spectrogram is not None,
    }))
    """
)


def test_a_dashboard_kernel_using_the_service_never_loads_torch(served):
    env = {**os.environ, service.SERVICE_ENV: served[0]}
    done = subprocess.run(
        [sys.executable, "-c", THIN_KERNEL], capture_output=True, text=True, env=env, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "WER" in report["status"], report
    assert not report["torch_imported"] and not report["libtorch_mapped"], report


def test_cli_starts_reports_and_stops_the_service(tmp_path):
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if k != service.SERVICE_ENV}

    def speechlab(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lab.cli", "service", *args, "--port", port],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip

    started = speechlab("start", "--preload", "pocketsphinx")
    assert started.returncode == 0, started.stderr
    try:
        state = speechlab("status")
        assert state.returncode == 0 and "recognizer pocketsphinx" in state.stdout, state
    finally:
        stopped = speechlab("stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    gone = speechlab("status")
    assert gone.returncode == 2 and "speechlab service start" in gone.stderr


# --- the loaded-model cache and its budget -------------------------------------------------
class FakeModule:
    def __init__(self, megabytes: float) -> None:
        import torch

        self.weight = torch.nn.Parameter(torch.zeros(int(megabytes * 1e6 / 4)))

    def parameters(self):
        return iter([self.weight])

    def buffers(self):
        return iter([])


class FakeBackend:
    def __init__(self, megabytes: float) -> None:
        self.model = FakeModule(megabytes)


def test_cache_counts_weights_and_keeps_within_budget():
    cache = model_cache.ModelCache(budget_mb=25)
    cache.get(("recognizer", "a"), lambda: FakeBackend(10))
    cache.get(("recognizer", "b"), lambda: FakeBackend(10))
    cache.get(("recognizer", "a"), lambda: FakeBackend(10))  # a is now the most recent
    cache.get(("recognizer", "c"), lambda: FakeBackend(10))
    assert [m.key for m in cache.loaded()] == ["recognizer a", "recognizer c"]
    assert cache.evictions == 1
    assert cache.loaded()[0].size_mb == pytest.approx(10, rel=1e-3)
    # a model larger than the whole budget still loads: the others make room
    cache.get(("recognizer", "huge"), lambda: FakeBackend(40))
    assert [m.key for m in cache.loaded()] == ["recognizer huge"]


def test_cache_makes_each_model_once_when_asked_at_the_same_time():
    cache = model_cache.ModelCache()
    made = []

    def make():
        made.append(1)
        time.sleep(0.2)
        return FakeBackend(1)

    threads = [threading.Thread(target=cache.get, args=(("s", "x"), make)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
