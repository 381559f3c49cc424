import numpy as np
import pytest

from lab.audio import Audio
from lab.backends.base import Recognizer
from lab.backends.ctc import CTCRecognizer
from lab.errors import BackendError, InvalidAudioError


def chirp(seconds: float, rate: int = 16_000, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + t)) + 0.05 * rng.standard_normal(t.size)
    return wave.astype(np.float32)


@pytest.fixture(scope="module")
def wav2vec2(tiny):
    return CTCRecognizer.from_pretrained(tiny.wav2vec2)


@pytest.mark.parametrize("which", ["wav2vec2", "hubert"])
def test_transcript_matches_the_transformers_pipeline(tiny, which):
    from transformers import pipeline

    folder = getattr(tiny, which)
    samples = chirp(1.5)
    ours = CTCRecognizer.from_pretrained(folder).recognize(Audio(samples, 16_000))
    theirs = pipeline("automatic-speech-recognition", model=str(folder))(samples.copy())["text"]
    assert ours.text  # the seeded random model says something on this clip
    assert ours.text == theirs


def test_emissions_are_per_frame_log_probabilities(wav2vec2):
    audio = Audio(chirp(1.5), 16_000)
    result = wav2vec2.recognize(audio)
    assert isinstance(wav2vec2, Recognizer)
    assert result.frame_s == pytest.approx(0.02)
    assert result.emissions.dtype == np.float32
    assert result.emissions.shape == (len(result.path), len(result.vocab))
    assert abs(result.emissions.shape[0] - audio.duration_s / result.frame_s) <= 2
    np.testing.assert_allclose(np.exp(result.emissions).sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(result.path, result.emissions.argmax(axis=1))
    assert result.vocab[0] == "<pad>" and "|" in result.vocab
    chosen = result.emissions[np.arange(len(result.path)), result.path]
    assert result.confidence == pytest.approx(float(chosen.mean()), rel=1e-5)
    assert result.untrained and result.model == str(wav2vec2.name)
    assert result.attentions is None and result.hidden_states is None


def test_word_segments_spell_the_transcript_in_order(wav2vec2):
    audio = Audio(chirp(1.5), 16_000)
    result = wav2vec2.recognize(audio)
    assert " ".join(w.text for w in result.words) == result.text
    times = [t for w in result.words for t in (w.start_s, w.end_s)]
    assert times == sorted(times)
    assert times[0] >= 0 and times[-1] <= audio.duration_s
    assert all(0 <= c.score <= 1 for c in result.chars)


def test_attentions_and_hidden_states_on_request(wav2vec2):
    result = wav2vec2.recognize(
        Audio(chirp(1.0), 16_000), output_attentions=True, output_hidden_states=True
    )
    frames = result.emissions.shape[0]
    config = wav2vec2.model.config
    assert result.attentions.shape == (
        config.num_hidden_layers,
        config.num_attention_heads,
        frames,
        frames,
    )
    np.testing.assert_allclose(result.attentions.sum(axis=-1), 1.0, rtol=1e-4)
    assert result.hidden_states.shape == (config.num_hidden_layers + 1, frames, config.hidden_size)
    # eager attention only for that call; the fast default comes back
    assert wav2vec2.model.config._attn_implementation == "sdpa"


def test_long_audio_runs_in_chunks_with_continuous_frames(tiny):
    recognizer = CTCRecognizer.from_pretrained(
        tiny.wav2vec2, chunk_s=1.0, overlap_s=0.2, long_audio_s=2.0
    )
    audio = Audio(chirp(5.3), 16_000)
    result = recognizer.recognize(audio)
    assert abs(result.emissions.shape[0] - audio.duration_s / 0.02) <= 2
    # the first chunk keeps its frames up to half the overlap before its end
    first = recognizer.recognize(audio.slice(0, 1.0))
    kept = 50 - 5
    np.testing.assert_allclose(result.emissions[:kept], first.emissions[:kept], atol=1e-5)
    # the frames after that come from the second chunk, which hears what follows
    tail = first.emissions.shape[0]
    assert not np.allclose(result.emissions[kept:tail], first.emissions[kept:tail], atol=1e-3)
    with pytest.raises(InvalidAudioError, match="slice it"):
        recognizer.recognize(audio, output_attentions=True)


def test_silence_gives_an_empty_transcript_not_an_error(tiny):
    recognizer = CTCRecognizer.from_pretrained(tiny.wav2vec2)
    # a model that has learnt silence is blank: push the blank logit up as training would
    recognizer.model.lm_head.bias.data[recognizer.blank_id] += 100.0
    result = recognizer.recognize(Audio(np.zeros(16_000, dtype=np.float32), 16_000))
    assert result.text == ""
    assert result.words == () and result.chars == ()
    assert result.confidence == pytest.approx(0.0, abs=1e-3)


def test_clipped_stereo_44k_audio_is_recognised(wav2vec2):
    left = np.clip(4 * chirp(1.2, 44_100), -1, 1)
    stereo = np.stack([left, left[::-1]], axis=1)
    audio = Audio(stereo, 44_100)
    assert audio.is_clipped
    result = wav2vec2.recognize(audio)
    assert abs(result.emissions.shape[0] - 1.2 / 0.02) <= 2


def test_audio_too_short_for_the_model_is_a_backend_error(wav2vec2):
    with pytest.raises(BackendError, match="failed while recognising"):
        wav2vec2.recognize(Audio(chirp(0.01), 16_000))
