"""Every notebook runs, offline, from a fresh kernel; none is committed with outputs.

With no pretrained weights on the machine (CI, this project's machines) the exploration notebooks
use the bundled pair, and the neural sections say in one sentence why they skip. Run again with
tiny random checkpoints injected as parameters (as papermill does), the neural sections run for
real and label what they show as untrained.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from strip_outputs import dirty_reasons, notebook_paths  # noqa: E402

NOTEBOOKS = notebook_paths()
EXPLORATION = [p for p in NOTEBOOKS if p.parent.name == "notebooks"]
DASHBOARDS = [p for p in NOTEBOOKS if p.parent.name == "dashboards"]
CELL_TIMEOUT_S = 300
SKIP_SENTENCE = "Skipping what needs"
UNTRAINED_SENTENCE = "random weights (a test checkpoint)"


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT / "notebooks"))


def execute(path: Path, parameters: str | None = None) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    if parameters is not None:
        index = next(
            i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])
        )
        injected = nbformat.v4.new_code_cell(parameters)
        injected.metadata["tags"] = ["injected-parameters"]
        notebook.cells.insert(index + 1, injected)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return notebook


def text_of(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "data" in output and "text/plain" in output["data"]:
                parts.append(output["data"]["text/plain"])
    return "\n".join(parts)


def widget_text(notebook: nbformat.NotebookNode) -> str:
    """Every string value of the page's widgets (what a dashboard visitor reads)."""
    state = notebook.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}
    )
    values = [m.get("state", {}).get("value") for m in state.get("state", {}).values()]
    return "\n".join(v for v in values if isinstance(v, str))


def mime_types(notebook: nbformat.NotebookNode) -> set[str]:
    return {m for c in notebook.cells for o in c.get("outputs", []) for m in o.get("data", {})}


def test_there_are_six_exploration_notebooks_and_the_dashboards():
    names = {p.stem for p in EXPLORATION}
    assert names == {
        "01_tour", "02_attention", "03_ctc", "04_robustness", "05_representations", "06_quality"
    }  # fmt: skip
    assert {p.stem for p in DASHBOARDS} >= {
        "index", "roundtrip_lab", "recognizer_comparison", "robustness_sweep", "listening_test"
    }  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_committed_without_outputs(path):
    reasons = dirty_reasons(json.loads(path.read_text(encoding="utf-8")))
    assert not reasons, f"{_id(path)}: {reasons}; run `python tools/strip_outputs.py`"


@pytest.fixture(autouse=True)
def _listening_db_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("SPEECHLAB_LISTENING_DB", str(tmp_path / "listening.sqlite"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_every_code_cell_runs_offline(path):
    notebook = execute(path)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    text = text_of(notebook)
    assert "Traceback" not in text
    if path in EXPLORATION:
        # Each exploration notebook shows something: a figure, audio, or a sentence on why not.
        assert text.strip()
    else:
        # A dashboard shows its widgets and which models serve it, not the one-sentence error.
        assert "speechlab-error" not in text, text
        assert "speechlab-models" in text or path.stem == "index"
        assert "application/vnd.jupyter.widget-view+json" in mime_types(notebook)


def _parameters(path: Path, tiny) -> str:
    tts = f"{tiny.speecht5}+{tiny.hifigan}"
    voice = str(tiny.voice)
    return {
        # the tour adds noise, and the tiny SpeechT5 speaks (near) silence: Piper speaks instead
        "01_tour": f"RECOGNIZER = {str(tiny.wav2vec2)!r}",
        "02_attention": f"SYNTHESIZER = {tts!r}\nVOICE = {voice!r}",
        "03_ctc": f"RECOGNIZER = {str(tiny.wav2vec2)!r}",
        "04_robustness": "RECOGNIZERS = ['pocketsphinx', " + repr(str(tiny.wav2vec2)) + "]\n"
        "SNRS_DB = [None, 5]\nNOISES = ['white']\nSENTENCES = SENTENCES[:1]",
        "05_representations": f"RECOGNIZERS = [{str(tiny.wav2vec2)!r}, {str(tiny.hubert)!r}]",
    }[path.stem]


NEURAL = [p for p in EXPLORATION if p.stem != "06_quality"]


@pytest.mark.parametrize("path", NEURAL, ids=_id)
def test_neural_sections_run_with_tiny_checkpoints(path, tiny):
    notebook = execute(path, _parameters(path, tiny))
    text = text_of(notebook)
    assert SKIP_SENTENCE not in text, text
    assert UNTRAINED_SENTENCE in text or "Untrained test checkpoints" in text
    if path.stem in {"02_attention", "03_ctc", "04_robustness", "05_representations"}:
        assert "application/vnd.plotly.v1+json" in mime_types(notebook)


@pytest.mark.parametrize("path", [p for p in NEURAL if p.stem != "04_robustness"], ids=_id)
def test_neural_sections_explain_why_they_skip_without_weights(path, tmp_path, monkeypatch):
    # An empty Hugging Face cache: the pretrained models are certainly absent.
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("SPEECHLAB_VOICES", str(tmp_path / "voices"))
    notebook = execute(path)
    text = text_of(notebook)
    if path.stem == "01_tour":
        assert "bundled Piper voice and PocketSphinx stand in" in text
    else:
        assert SKIP_SENTENCE in text
        assert "speechlab models download" in text


ROUNDTRIP_DASHBOARD = ROOT / "notebooks" / "dashboards" / "roundtrip_lab.ipynb"


def test_dashboard_offers_only_allowed_models_and_says_the_bundled_pair_stands_in(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)  # no pretrained weights here
    monkeypatch.setenv(
        "SPEECHLAB_ALLOWED_MODELS",
        "speecht5,piper,pocketsphinx,wav2vec2-base-960h,hubert-large-ls960-ft",
    )
    text = widget_text(execute(ROUNDTRIP_DASHBOARD))
    assert "<b>Synthesizers:</b> piper<br><b>Recognizers:</b> pocketsphinx<br>" in text
    assert "bundled Piper voice and PocketSphinx stand in" in text
    assert "speechlab-error" not in text


def test_dashboard_without_an_allowed_recognizer_says_so_in_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("SPEECHLAB_ALLOWED_MODELS", "piper,wav2vec2-base-960h")
    notebook = execute(ROUNDTRIP_DASHBOARD)
    text = widget_text(notebook)
    errors = [line for line in text.splitlines() if "speechlab-error" in line]
    assert len(errors) == 1
    assert "No recognizer that is allowed here is installed" in errors[0]
    assert "Traceback" not in text + text_of(notebook)


def test_dashboard_models_file_names_exactly_what_is_offered(tmp_path, monkeypatch, tiny):
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"synthesizers": ["piper"], "recognizers": [str(tiny.wav2vec2)]}))
    monkeypatch.setenv("SPEECHLAB_DASHBOARD_MODELS", str(config))
    text = widget_text(execute(ROUNDTRIP_DASHBOARD))
    assert "<b>Synthesizers:</b> piper<br><b>Recognizers:</b> wav2vec2</p>" in text
    assert "pocketsphinx" not in text.split("speechlab-models", 1)[1].split("</p>", 1)[0]
