import zipfile

import numpy as np
import pytest

from lab import voices
from lab.audio import Audio
from lab.errors import ModelUnavailableError, UnknownModelError
from lab.voices import ARCTIC_VOICES, Voice, available_voices, get_voice, missing_voices


@pytest.fixture
def empty_places(tmp_path, monkeypatch):
    """No voice folder content and an empty Hugging Face cache."""
    monkeypatch.setenv("SPEECHLAB_VOICES", str(tmp_path / "voices"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(512).astype(np.float32)
    return v / np.linalg.norm(v)


def fake_arctic_cache(hub, vectors: dict[str, np.ndarray]) -> None:
    """The dataset archive laid out as huggingface_hub caches it after a download."""
    repo = hub / "datasets--Matthijs--cmu-arctic-xvectors"
    commit = "0" * 40
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    with zipfile.ZipFile(snapshot / "spkrec-xvect.zip", "w") as zf:
        for name, vector in vectors.items():
            stem = ARCTIC_VOICES[name][0]
            path = hub / f"{stem}.npy"
            np.save(path, vector)
            zf.write(path, f"spkrec-xvect/{stem}.npy")


def test_voice_from_npy(tiny):
    voice = Voice.from_npy(tiny.voice)
    assert voice.name == "voice" and voice.xvector.shape == (512,)
    assert voice.xvector.dtype == np.float32
    assert np.linalg.norm(voice.xvector) == pytest.approx(1.0, rel=1e-5)


def test_a_vector_of_the_wrong_size_or_zeros_is_refused():
    with pytest.raises(ValueError, match="512"):
        Voice("short", np.ones(256), "test")
    with pytest.raises(ValueError, match="zero"):
        Voice("silent", np.zeros(512), "test")


def test_nothing_available_says_what_is_missing_and_how_to_fetch_it(empty_places):
    assert available_voices() == ()
    message = missing_voices()
    assert all(name in message for name in ARCTIC_VOICES)
    assert "speechlab models download cmu-arctic-xvectors" in message
    with pytest.raises(ModelUnavailableError, match="slt"):
        get_voice(None)
    with pytest.raises(ModelUnavailableError, match="missing"):
        get_voice("bdl")


def test_local_npy_files_count_and_the_first_is_the_default_without_slt(empty_places):
    folder = empty_places / "voices"
    folder.mkdir()
    np.save(folder / "zoe.npy", unit(1))
    np.save(folder / "amy.npy", unit(2))
    assert available_voices() == ("amy", "zoe")
    default = get_voice(None)
    assert default.name == "amy"
    np.testing.assert_allclose(default.xvector, unit(2))
    np.save(folder / "slt.npy", unit(3))
    assert available_voices()[0] == "slt"
    assert get_voice(None).name == "slt"


def test_arctic_voices_come_from_the_cached_archive(empty_places):
    vectors = {name: unit(i) for i, name in enumerate(ARCTIC_VOICES)}
    fake_arctic_cache(empty_places / "hub", vectors)
    assert available_voices() == tuple(ARCTIC_VOICES)
    assert missing_voices() == ""
    slt = get_voice(None)
    assert slt.name == "slt" and "cmu_us_slt_arctic" in slt.source
    np.testing.assert_allclose(slt.xvector, vectors["slt"])
    np.testing.assert_allclose(get_voice("ksp").xvector, vectors["ksp"])


def test_download_writes_named_voices_into_the_voices_folder(empty_places, monkeypatch):
    vectors = {name: unit(i) for i, name in enumerate(ARCTIC_VOICES)}
    fake_arctic_cache(empty_places / "hub", vectors)
    # the archive is already cached, so "downloading" resolves it locally
    monkeypatch.setattr(voices, "arctic_archive", lambda download=False: _cached(empty_places))
    written = voices.download_arctic_voices(["bdl", "clb"])
    assert sorted(p.name for p in written) == ["bdl.npy", "clb.npy"]
    np.testing.assert_allclose(np.load(written[0]), vectors["bdl"])


def _cached(root):
    return next((root / "hub").rglob("spkrec-xvect.zip"))


def test_download_offline_is_a_clear_error(empty_places, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        ModelUnavailableError, match="speechlab models download cmu-arctic-xvectors"
    ):
        voices.download_arctic_voices()


def test_unknown_voice_names_the_known_ones(empty_places):
    with pytest.raises(UnknownModelError, match="slt"):
        get_voice("nobody")
    with pytest.raises(UnknownModelError, match="No voice file"):
        get_voice(empty_places / "absent.npy")


def test_voice_from_a_recording(tmp_path):
    from lab.tiny import build_tiny_wavlm_xvector

    model = build_tiny_wavlm_xvector(tmp_path / "wavlm")
    rng = np.random.default_rng(0)
    first = Audio(0.1 * rng.standard_normal(16_000), 16_000)
    second = Audio(0.1 * np.sin(np.arange(44_100) * 0.05), 44_100)
    a = Voice.from_recording(first, model=model)
    b = Voice.from_recording(second, model=model)
    assert a.xvector.shape == (512,)
    assert np.linalg.norm(a.xvector) == pytest.approx(1.0, rel=1e-5)
    assert not np.allclose(a.xvector, b.xvector)


def test_missing_speaker_model_says_how_to_fetch_it(tmp_path):
    audio = Audio(np.zeros(16_000), 16_000)
    with pytest.raises(ModelUnavailableError, match="models download wavlm-xvector"):
        Voice.from_recording(audio, model=tmp_path / "not-there")
