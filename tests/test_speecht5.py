import numpy as np
import pytest
import torch

from lab.backends.base import Synthesizer
from lab.backends.speecht5 import SpeechT5Synthesizer
from lab.errors import BackendError, InvalidTextError, ModelUnavailableError
from lab.voices import Voice

# The random tiny model's stop scores sit near 1 from the first step; a threshold above the
# largest possible score (2 frames per step) makes lengths depend only on maxlenratio.
FIXED_LENGTH = {"threshold": 3.0, "maxlenratio": 2.0}


@pytest.fixture(scope="module")
def synth(tiny):
    return SpeechT5Synthesizer.from_pretrained(
        tiny.speecht5, tiny.hifigan, voice_source=tiny.voice, **FIXED_LENGTH
    )


def test_mel_and_attention_are_what_generate_speech_makes(synth, tiny):
    result = synth.synthesize("Hello world, how are you?")
    assert isinstance(synth, Synthesizer)
    (sentence,) = result.sentences
    input_ids = synth.tokenizer(sentence.text, return_tensors="pt")["input_ids"]
    speaker = torch.from_numpy(np.load(tiny.voice)).unsqueeze(0)
    torch.manual_seed(0)  # the decoder pre-net's dropout stays on in eval mode
    with torch.inference_mode():
        mel, attention = synth.model.generate_speech(
            input_ids,
            speaker,
            threshold=3.0,
            minlenratio=0.0,
            maxlenratio=2.0,
            output_cross_attentions=True,
        )
    np.testing.assert_allclose(result.mel, mel.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sentence.cross_attention, attention.numpy(), rtol=1e-5, atol=1e-6)


def test_shapes_units_and_times(synth):
    result = synth.synthesize("Hello world, how are you?")
    (sentence,) = result.sentences
    config = synth.model.config
    steps = sentence.cross_attention.shape[2]
    assert sentence.cross_attention.shape == (
        config.decoder_layers,
        config.decoder_attention_heads,
        steps,
        len(sentence.tokens),
    )
    assert sentence.cross_attention.dtype == np.float32
    np.testing.assert_allclose(sentence.cross_attention.sum(axis=-1), 1.0, rtol=1e-4)
    assert result.mel.shape == (steps * config.reduction_factor, 80)
    assert result.mel_frame_s == pytest.approx(256 / 16_000)
    assert result.audio.sample_rate == 16_000
    assert result.audio.duration_s == pytest.approx(result.mel.shape[0] * result.mel_frame_s)
    assert (sentence.start_s, sentence.end_s) == (0.0, pytest.approx(result.audio.duration_s))
    assert sentence.stop_probs.shape == (steps,)
    assert ((sentence.stop_probs >= 0) & (sentence.stop_probs <= 1)).all()
    assert sentence.tokens[:6] == (" ", "H", "e", "l", "l", "o") and sentence.tokens[-1] == "</s>"
    assert result.untrained and result.voice == "voice"


def test_stop_probabilities_are_what_ends_generation(tiny):
    synth = SpeechT5Synthesizer.from_pretrained(
        tiny.speecht5, tiny.hifigan, voice_source=tiny.voice, **FIXED_LENGTH
    )
    # make the random stop layer hesitant, so its scores spread below 1
    synth.model.speech_decoder_postnet.prob_out.bias.data -= 2.0
    text = "Stop when you are sure."
    scores = synth.synthesize(text).sentences[0].stop_probs
    assert scores.max() < 1.0 and len(scores) > 10
    first_peak = int(np.argmax(scores[: len(scores) // 2]))
    synth.threshold = float(scores[first_peak]) - 1e-6
    stopped = synth.synthesize(text).sentences[0]
    expected_steps = int(np.argmax(scores >= synth.threshold)) + 1
    assert stopped.cross_attention.shape[2] == expected_steps
    np.testing.assert_allclose(stopped.stop_probs, scores[:expected_steps], rtol=1e-5)


def test_sentences_are_stitched_with_pauses(synth):
    result = synth.synthesize("First sentence here. And a second one! A third?")
    assert [s.text for s in result.sentences] == [
        "First sentence here.",
        "And a second one!",
        "A third?",
    ]
    ends = [(s.start_s, s.end_s) for s in result.sentences]
    for (_, end), (start, _) in zip(ends, ends[1:], strict=False):
        assert 0.15 < start - end < 0.25
    assert ends[-1][1] == pytest.approx(result.audio.duration_s)
    assert result.mel.shape[0] * result.mel_frame_s == pytest.approx(result.audio.duration_s)
    gap = result.audio.slice(ends[0][1], ends[1][0]).samples
    assert not gap.any()
    steps = sum(s.cross_attention.shape[2] for s in result.sentences)
    assert result.cross_attention.shape[2:] == (steps, len(result.tokens))
    assert result.stop_probs.shape == (steps,)


def test_long_text_is_split_to_fit_the_text_encoder(synth):
    synth.maxlenratio = 0.05  # a few decoder steps per sentence keep this fast
    try:
        one_run_on = ", ".join(["the quick brown fox jumps over the lazy dog"] * 120)[:5000]
        result = synth.synthesize(one_run_on)
    finally:
        synth.maxlenratio = FIXED_LENGTH["maxlenratio"]
    assert len(result.sentences) >= 5000 // synth.model.config.max_text_positions + 1
    assert all(len(s.tokens) <= synth.max_tokens for s in result.sentences)
    assert result.audio.duration_s > 0
    assert result.sentences[-1].end_s == pytest.approx(result.audio.duration_s)


def test_numbers_are_spoken_as_words(synth):
    result = synth.synthesize("I have 3 cats.")
    assert result.sentences[0].text == "I have three cats."
    assert result.text == "I have 3 cats."


def test_text_it_cannot_read_is_a_clear_error(synth):
    with pytest.raises(InvalidTextError, match="<unk>"):
        synth.synthesize("你好世界")
    with pytest.raises(InvalidTextError, match="你好世界"):
        synth.synthesize("Hello there. 你好世界.")
    with pytest.raises(InvalidTextError, match="emoji"):
        synth.synthesize("😀 🎉")
    mixed = synth.synthesize("Hello 你好")
    assert "<unk>" in mixed.tokens


def test_voices(synth, tiny, tmp_path, monkeypatch):
    assert synth.voices()[0] == "voice"
    other = Voice("other", -np.load(tiny.voice), "test")
    assert not np.allclose(
        synth.synthesize("Hi there.", voice=other).mel, synth.synthesize("Hi there.").mel
    )
    monkeypatch.setenv("SPEECHLAB_VOICES", str(tmp_path / "none"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    bare = SpeechT5Synthesizer(synth.model, synth.processor, synth.vocoder, "bare")
    assert bare.voices() == ()
    with pytest.raises(ModelUnavailableError, match="slt"):
        bare.synthesize("Hello.")


def test_torch_failures_become_backend_errors(tiny):
    synth = SpeechT5Synthesizer.from_pretrained(
        tiny.speecht5, tiny.hifigan, voice_source=tiny.voice, **FIXED_LENGTH
    )
    synth.max_tokens = 10_000  # past the text encoder's 450 positions
    with pytest.raises(BackendError, match="failed on sentence 1"):
        synth.synthesize("a " * 400)


def test_the_same_text_always_sounds_the_same(synth):
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    first = synth.synthesize("Say it again.")
    second = synth.synthesize("Say it again.")
    np.testing.assert_array_equal(first.audio.samples, second.audio.samples)
    # the caller's random state is left alone
    assert torch.equal(torch.get_rng_state(), state)
