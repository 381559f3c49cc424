"""A served dashboard: visitors pick models from an allowlist, cannot run code or read files,
see no tracebacks or server paths, and their uploads never become files named by them."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from widget_fixtures import choose_file

import lab
import lab.models
from lab.errors import ModelNotAllowedError
from widgets._common import StatusLine, busy

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "notebooks" / "dashboards"
SERVED = ("index.ipynb", "roundtrip_lab.ipynb", "recognizer_comparison.ipynb")
"""Dashboards whose code runs here in full (the others synthesise clips or sweep first)."""
NOT_OFFERED = ("someone/evil-model", "facebook/wav2vec2-base-100h", "/etc", "../../models/x")


def dashboard_code(notebook: str) -> str:
    cells = json.loads((DASHBOARDS / notebook).read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.fixture
def dashboard(monkeypatch, tmp_path):
    """Runs a dashboard's code as Voilà would, with no allowlist set from outside and an empty
    model cache; the allowlist is lifted again afterwards. Any hub or disk lookup of a model
    fails the test: a refused id must be refused before anything is fetched."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("SPEECHLAB_ALLOWED_MODELS", raising=False)
    monkeypatch.delenv("SPEECHLAB_DASHBOARD_MODELS", raising=False)
    monkeypatch.setattr("IPython.display.display", lambda *objects, **kw: None)

    def fetched(*args, **kwargs):
        raise AssertionError(f"a model was looked up: {args}")

    monkeypatch.setattr(lab.models, "_resolve_repo", fetched)
    monkeypatch.setattr(lab.models, "_read_config", fetched)

    def run(notebook: str) -> dict:
        namespace: dict = {"__name__": "__dashboard__"}
        exec(compile(dashboard_code(notebook), notebook, "exec"), namespace)
        return namespace

    yield run
    lab.models.set_allowlist(None)


@pytest.mark.parametrize("notebook", SERVED)
def test_dashboard_mode_refuses_models_outside_the_allowlist(dashboard, notebook):
    namespace = dashboard(notebook)
    allowed = lab.models.get_allowlist()
    assert allowed == frozenset(lab.models.KNOWN_MODELS)
    assert "error_box" in namespace  # the page's own error display was set up
    for request in NOT_OFFERED:
        with pytest.raises(ModelNotAllowedError) as refused:
            lab.models.get_recognizer(request)
        message = str(refused.value)
        assert message.startswith(f"The recognizer {request!r} is not offered here; choose one of")
        assert "pocketsphinx" in message
        with pytest.raises(ModelNotAllowedError):
            lab.models.get_synthesizer(request)


def test_roundtrip_dashboard_offers_only_allowlisted_models_and_refuses_others(dashboard):
    namespace = dashboard("roundtrip_lab.ipynb")
    page = namespace["roundtrip_lab"]
    offered = [label for label, _ in page.recognizer.options + page.synthesizer.options]
    assert offered and set(offered) <= set(lab.models.KNOWN_MODELS)
    # a dropdown value is an index into the server's list: a visitor cannot send a model id
    with pytest.raises(Exception, match="Invalid selection"):
        page.recognizer.value = len(page.recognizer.options)

    # the same lab class, handed a free-form id, refuses it in one sentence on Run
    lab_class = type(page)
    rogue = lab_class(synthesizers=["piper"], recognizers=["someone/evil-model"])
    assert rogue.run() is None
    assert rogue.status.kind == "error"
    assert rogue.status.message.startswith(
        "The recognizer 'someone/evil-model' is not offered here; choose one of: "
    )
    assert "pocketsphinx" in rogue.status.message


def test_free_form_ids_stay_open_in_notebooks(tiny, monkeypatch):
    monkeypatch.delenv("SPEECHLAB_ALLOWED_MODELS", raising=False)
    lab.models.set_allowlist(None)
    assert lab.models.get_allowlist() is None
    recognizer = lab.models.get_recognizer(str(tiny.wav2vec2))
    assert recognizer.has_emissions


# --- no tracebacks, no server paths ------------------------------------------------------------
def test_unexpected_errors_show_no_text_of_their_own(tmp_path):
    status = StatusLine()
    secret = tmp_path / "srv" / "models" / "weights.bin"
    with pytest.raises(RuntimeError), busy(status):
        raise RuntimeError(f"{secret}: unexpected EOF\nTraceback (most recent call last): ...")
    assert status.message == (
        "Something went wrong (RuntimeError); the details are in the server log: try again or "
        "change the input."
    )
    assert str(tmp_path) not in status.value and "Traceback" not in status.value


def test_lab_errors_naming_server_paths_show_only_the_last_part(tmp_path):
    status = StatusLine()
    with busy(status) as job:
        lab.Audio.load(tmp_path / "private" / "clip.wav")
    assert job.failed
    assert status.message == "No audio file at clip.wav."
    assert str(tmp_path) not in status.value


def test_voila_configuration_hides_tracebacks_and_serves_no_files():
    config = json.loads((DASHBOARDS / "voila.json").read_text())["VoilaConfiguration"]
    assert config["show_tracebacks"] is False
    assert config.get("file_allowlist") == []


def test_make_dashboard_binds_loopback_unless_told_otherwise():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^HOST \?= 127\.0\.0\.1$", makefile, re.M)
    recipe = makefile.split("\ndashboard:", 1)[1].split("\n\n", 1)[0]
    assert "--Voila.ip=$(HOST)" in recipe
    assert "--no-browser" in recipe


def test_trust_remote_code_is_never_enabled():
    sources = [
        p
        for folder in ("lab", "widgets", "notebooks", "benchmarks", "loadtest", "binder")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in {".py", ".ipynb", ".json", ".txt", ""} and p.is_file()
    ]
    assert len(sources) > 20
    enabled = re.compile(r"trust_remote_code\W{0,4}(?:=|:)\s*(?!False)\w+")
    hits = [
        str(p.relative_to(ROOT)) for p in sources if enabled.search(p.read_text(errors="ignore"))
    ]
    assert hits == []


# --- uploads -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["../../evil.wav", "/tmp/evil.wav", "..\\..\\evil.wav", "clip.wav\x00.sh", "~/.bashrc"],
)
def test_uploads_never_become_files_named_by_the_visitor(name, tmp_path, monkeypatch):
    import tempfile

    from widgets.recognizer_comparison import OWN_AUDIO, RecognizerComparison

    work, temp = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    t = np.arange(8000) / 16000
    wav = lab.Audio(0.3 * np.sin(2 * np.pi * 220 * t), 16000).to_wav_bytes()

    view = RecognizerComparison(["pocketsphinx"], synthesizer="piper", microphone=False)
    view.source.value = OWN_AUDIO
    choose_file(view.audio_input.upload, wav, name)
    assert view.audio_input.status.kind == "ok", view.audio_input.message
    assert "/" not in view.audio_input.source.removeprefix("upload: ")
    view.compare_button.click()
    assert view.status.kind == "ok", view.status.message
    assert list(work.iterdir()) == [] and list(temp.iterdir()) == []
    assert not (tmp_path / "evil.wav").exists()


# --- a live server -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    from browser_support import start_voila

    tmp = tmp_path_factory.mktemp("voila-security")
    env = {
        "HF_HOME": str(tmp / "hf"),
        "SPEECHLAB_LISTENING_DB": str(tmp / "listening.sqlite"),
        "SPEECHLAB_ALLOWED_MODELS": None,
        "SPEECHLAB_DASHBOARD_MODELS": None,
    }
    server = start_voila(tmp / "voila.log", env)
    yield server
    server.stop()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_served_page_runs_no_visitor_code_and_serves_no_files(voila, tmp_path):
    assert voila.url.startswith("http://127.0.0.1:")
    for path in (
        "/voila/files/pyproject.toml",
        "/voila/files/../../pyproject.toml",
        "/voila/files/roundtrip_lab.ipynb",
        "/files/pyproject.toml",
        "/api/contents/",
        "/tree",
    ):
        status, body = _get(voila.url + path)
        assert status in (403, 404, 405), (path, status)
        assert "roundtrip-speech-lab" not in body

    status, page = _get(voila.render_url("index.ipynb"))
    assert status == 200 and "Traceback" not in page
    kernel_id = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page) or re.search(
        r"kernel_id[\"']?\s*[:=]\s*[\"']([0-9a-f-]{36})", page
    )
    assert kernel_id, "the rendered page names its kernel"

    import websocket

    marker = tmp_path / "visitor-ran-code"
    socket = websocket.create_connection(
        voila.url.replace("http", "ws") + f"/api/kernels/{kernel_id.group(1)}/channels",
        timeout=30,
    )
    try:
        socket.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": "x1",
                        "msg_type": "execute_request",
                        "session": "s",
                        "username": "",
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {
                        "code": f"open({str(marker)!r}, 'w').write('pwned')",
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                    },
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        time.sleep(5)
    finally:
        socket.close()
    assert not marker.exists()
