from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import models
from lab.backends.piper import PiperSynthesizer
from lab.backends.sphinx import PocketSphinxRecognizer
from lab.errors import ModelNotAllowedError, ModelUnavailableError, UnknownModelError


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """An empty Hugging Face cache with the hub switched off, as on an offline machine."""
    from huggingface_hub import constants

    hub = tmp_path / "hf" / "hub"
    hub.mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    models.clear_loaded()
    yield hub
    models.clear_loaded()


def put_in_cache(hub: Path, repo_id: str, folder: Path, repo_type: str = "model") -> Path:
    """Lay a checkpoint folder out as huggingface_hub caches a downloaded repo."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    storage = hub / f"{repo_type}s--{repo_id.replace('/', '--')}"
    (storage / "refs").mkdir(parents=True)
    (storage / "refs" / "main").write_text(commit)
    snapshot = storage / "snapshots" / commit
    shutil.copytree(folder, snapshot)
    return snapshot


@pytest.fixture(autouse=True)
def no_allowlist(monkeypatch):
    monkeypatch.delenv(models.ALLOWLIST_ENV, raising=False)
    models.set_allowlist(None)
    yield
    models.set_allowlist(None)


# --- the table ------------------------------------------------------------------------------
def test_table_names_every_model_with_hub_ids_and_sizes():
    table = models.KNOWN_MODELS
    assert table["speecht5"].hub_ids == ("microsoft/speecht5_tts", "microsoft/speecht5_hifigan")
    assert table["wav2vec2-base-960h"].hub_ids == ("facebook/wav2vec2-base-960h",)
    assert table["hubert-large-ls960-ft"].hub_ids == ("facebook/hubert-large-ls960-ft",)
    assert table["wav2vec2-large-960h-lv60-self"].kind == models.RECOGNIZER
    assert table["cmu-arctic-xvectors"].repo_type == "dataset"
    assert table["wavlm-xvector"].hub_ids == ("microsoft/wavlm-base-plus-sv",)
    assert table["piper"].bundled and table["pocketsphinx"].bundled
    for info in table.values():
        assert info.description and info.size_mb > 0
        assert info.size.endswith(("MB", "GB"))


def test_list_models_offline_shows_only_bundled_cached(empty_hub):
    listed = {m.name: m for m in models.list_models()}
    assert set(listed) == set(models.KNOWN_MODELS)
    assert listed["piper"].cached and listed["pocketsphinx"].cached
    assert not listed["speecht5"].cached and not listed["wav2vec2-base-960h"].cached


# --- bundled pair -----------------------------------------------------------------------------
def test_bundled_names_load_once_and_are_shared(empty_hub):
    assert models.bundled_available()
    piper = models.get_synthesizer("piper")
    sphinx = models.get_recognizer("pocketsphinx")
    assert isinstance(piper, PiperSynthesizer) and isinstance(sphinx, PocketSphinxRecognizer)
    assert models.get_synthesizer("piper") is piper
    assert models.get_recognizer("pocketsphinx") is sphinx


def test_instances_pass_through():
    mine = PocketSphinxRecognizer(name="my-sphinx")
    assert models.get_recognizer(mine) is mine


def test_default_pair_falls_back_to_bundled_with_notice(empty_hub):
    synth, rec, notice = models.default_pair()
    assert (synth, rec) == ("piper", "pocketsphinx")
    assert "speechlab models download speecht5 wav2vec2-base-960h" in notice
    assert models.default_pair(prefer_neural=False) == ("piper", "pocketsphinx", None)


def test_default_pair_is_neural_when_cached(empty_hub, tiny):
    put_in_cache(empty_hub, "microsoft/speecht5_tts", tiny.speecht5)
    put_in_cache(empty_hub, "microsoft/speecht5_hifigan", tiny.hifigan)
    put_in_cache(empty_hub, "facebook/wav2vec2-base-960h", tiny.wav2vec2)
    assert models.default_pair() == ("speecht5", "wav2vec2-base-960h", None)
    listed = {m.name: m.cached for m in models.list_models()}
    assert listed["speecht5"] and listed["wav2vec2-base-960h"]
    assert not listed["hubert-large-ls960-ft"]


# --- errors -----------------------------------------------------------------------------------
def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownModelError) as err:
        models.get_recognizer("whisper")
    message = str(err.value)
    assert "'whisper'" in message
    for name in ("wav2vec2-base-960h", "hubert-large-ls960-ft", "pocketsphinx"):
        assert name in message
    with pytest.raises(UnknownModelError, match="speecht5, piper"):
        models.get_synthesizer("not a model")


def test_wrong_kind_is_refused():
    with pytest.raises(UnknownModelError, match="synthesizer, not a recognizer"):
        models.get_recognizer("piper")
    with pytest.raises(UnknownModelError, match="not a synthesizer"):
        models.get_synthesizer("wav2vec2-base-960h")
    with pytest.raises(UnknownModelError, match="dataset"):
        models.get_synthesizer("cmu-arctic-xvectors")


@pytest.mark.parametrize(
    ("getter", "request_name", "fix"),
    [
        (
            models.get_recognizer,
            "wav2vec2-base-960h",
            "speechlab models download wav2vec2-base-960h",
        ),
        (
            models.get_recognizer,
            "facebook/hubert-xlarge-ls960-ft",
            "download facebook/hubert-xlarge",
        ),
        (models.get_synthesizer, "speecht5", "speechlab models download speecht5"),
    ],
)
def test_missing_weights_offline_fail_fast_with_the_fix(empty_hub, getter, request_name, fix):
    started = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as err:
        getter(request_name)
    assert time.perf_counter() - started < 2.0  # no network time-outs
    message = str(err.value)
    assert fix in message and "local folder" in message
    assert str(empty_hub) in message
    assert "\n" not in message


def test_download_offline_is_a_clear_error(empty_hub):
    with pytest.raises(ModelUnavailableError, match="Cannot download wav2vec2-base-960h"):
        models.download("wav2vec2-base-960h")
    assert models.download("piper") == []
    with pytest.raises(UnknownModelError):
        models.download("no-such-model")


def test_not_a_checkpoint_folder(tmp_path):
    with pytest.raises(UnknownModelError, match="no config.json"):
        models.get_recognizer(str(tmp_path))


# --- allowlist --------------------------------------------------------------------------------
def test_allowlist_refuses_anything_else(tiny):
    models.set_allowlist(["piper", "pocketsphinx"])
    assert models.get_recognizer("pocketsphinx").name == "pocketsphinx"
    with pytest.raises(ModelNotAllowedError, match="pocketsphinx"):
        models.get_recognizer("wav2vec2-base-960h")
    with pytest.raises(ModelNotAllowedError):
        models.get_recognizer(str(tiny.wav2vec2))  # free-form folders are for notebooks
    with pytest.raises(ModelNotAllowedError):
        models.get_synthesizer("microsoft/speecht5_tts")
    models.set_allowlist(None)
    with pytest.raises(ModelUnavailableError):
        models.get_recognizer("wav2vec2-base-960h")


def test_allowlist_from_environment_and_context(monkeypatch):
    monkeypatch.setenv(models.ALLOWLIST_ENV, "pocketsphinx, facebook/wav2vec2-base-960h")
    assert models.get_allowlist() == {"pocketsphinx", "facebook/wav2vec2-base-960h"}
    with pytest.raises(ModelNotAllowedError):
        models.get_synthesizer("piper")
    with models.allowed_models(["piper"]):
        assert models.get_synthesizer("piper").name == "piper"
        with pytest.raises(ModelNotAllowedError):
            models.get_recognizer("pocketsphinx")
    with pytest.raises(ModelNotAllowedError):
        models.get_synthesizer("piper")


def test_allowlist_matches_a_known_model_by_its_hub_id(empty_hub):
    models.set_allowlist(["facebook/wav2vec2-base-960h"])
    # allowed, so it gets as far as the cache (empty here)
    with pytest.raises(ModelUnavailableError):
        models.get_recognizer("wav2vec2-base-960h")


# --- local folders and cached hub ids (tiny random checkpoints) -------------------------------
def test_ctc_folders_load_through_get_recognizer(tiny):
    wav2vec2 = models.get_recognizer(str(tiny.wav2vec2))
    hubert = models.get_recognizer(tiny.hubert)
    assert wav2vec2.untrained and hubert.untrained
    assert wav2vec2.has_emissions
    assert models.get_recognizer(str(tiny.wav2vec2)) is wav2vec2


def test_speecht5_folder_is_not_a_recognizer(tiny):
    with pytest.raises(UnknownModelError, match="synthesizer"):
        models.get_recognizer(str(tiny.speecht5))
    with pytest.raises(UnknownModelError, match="recognizer"):
        models.get_synthesizer(str(tiny.wav2vec2))


def test_speecht5_folder_pair_loads_through_get_synthesizer(tiny):
    synth = models.get_synthesizer(f"{tiny.speecht5}+{tiny.hifigan}")
    assert synth.untrained and synth.has_attention and synth.has_mel
    assert models.get_synthesizer(f"{tiny.speecht5}+{tiny.hifigan}") is synth


def test_speecht5_folder_with_vocoder_subfolder(tiny, tmp_path):
    folder = tmp_path / "tts"
    shutil.copytree(tiny.speecht5, folder)
    shutil.copytree(tiny.hifigan, folder / "vocoder")
    synth = models.get_synthesizer(str(folder))
    assert synth.untrained and synth.sample_rate == 16_000


def test_cached_hub_id_loads_offline_under_its_registry_name(empty_hub, tiny):
    put_in_cache(empty_hub, "facebook/wav2vec2-base-960h", tiny.wav2vec2)
    rec = models.get_recognizer("wav2vec2-base-960h")
    assert rec.name == "wav2vec2-base-960h" and rec.untrained
    # the hub id is the same model: one loaded copy
    assert models.get_recognizer("facebook/wav2vec2-base-960h") is rec


def test_hf_home_is_respected_in_a_fresh_process(tmp_path, tiny):
    put_in_cache(tmp_path / "hub", "facebook/hubert-large-ls960-ft", tiny.hubert)
    code = (
        "from lab import models; print(models.cache_dir()); "
        "print(models.is_cached('hubert-large-ls960-ft'), models.is_cached('wav2vec2-base-960h'))"
    )
    env = {**__import__("os").environ, "HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == str(tmp_path / "hub")
    assert out[1] == "True False"


def test_unreachable_hub_without_offline_flag_fails_fast(empty_hub, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(models, "_probe", None)
    started = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="cannot be reached") as err:
        models.get_recognizer("wav2vec2-base-960h")
    assert "speechlab models download wav2vec2-base-960h" in str(err.value)
    with pytest.raises(ModelUnavailableError, match="cannot be reached"):
        models.download("hubert-large-ls960-ft")
    assert time.perf_counter() - started < 5.0


def test_concurrent_requests_share_one_load(tiny):
    from concurrent.futures import ThreadPoolExecutor

    models.clear_loaded()
    with ThreadPoolExecutor(4) as pool:
        loaded = list(pool.map(lambda _: models.get_recognizer(str(tiny.hubert)), range(4)))
    assert all(r is loaded[0] for r in loaded)
    assert len([k for k in models.loaded_models() if str(tiny.hubert) in k]) == 1


def test_models_from_folders_are_named_by_the_folder_not_its_server_path(tiny):
    import numpy as np

    from lab import Audio

    rec = models.get_recognizer(str(tiny.wav2vec2))
    assert rec.name == tiny.wav2vec2.name
    result = rec.recognize(Audio(np.zeros(8000, np.float32) + 0.01, 16_000))
    assert str(tiny.wav2vec2.parent) not in result.model
    synth = models.get_synthesizer(f"{tiny.speecht5}+{tiny.hifigan}")
    assert synth.name == tiny.speecht5.name
