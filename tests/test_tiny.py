import json
import time

import numpy as np
import pytest

from lab.tiny import CTC_LABELS, build_random_full_size, build_tiny_checkpoints


def test_every_config_is_marked_untrained(tiny):
    configs = [
        p
        for folder in (tiny.speecht5, tiny.hifigan, tiny.wav2vec2, tiny.hubert)
        for p in folder.glob("config.json")
    ]
    assert len(configs) == 4
    assert all(json.loads(p.read_text())["speechlab_untrained"] is True for p in configs)


def test_checkpoints_load_like_hub_checkpoints(tiny):
    from transformers import (
        AutoModelForCTC,
        AutoProcessor,
        SpeechT5ForTextToSpeech,
        SpeechT5HifiGan,
        SpeechT5Processor,
    )

    processor = SpeechT5Processor.from_pretrained(tiny.speecht5)
    text = "The quick brown fox, isn't it?"
    ids = processor(text=text)["input_ids"]
    assert processor.tokenizer.decode(ids, skip_special_tokens=True) == text
    assert processor.tokenizer.unk_token_id not in ids
    model = SpeechT5ForTextToSpeech.from_pretrained(tiny.speecht5)
    assert model.config.vocab_size == len(processor.tokenizer)
    assert SpeechT5HifiGan.from_pretrained(tiny.hifigan).config.speechlab_untrained
    for folder, kind in ((tiny.wav2vec2, "Wav2Vec2ForCTC"), (tiny.hubert, "HubertForCTC")):
        assert type(AutoModelForCTC.from_pretrained(folder)).__name__ == kind
        tokenizer = AutoProcessor.from_pretrained(folder).tokenizer
        assert tokenizer.pad_token_id == 0 and tokenizer.convert_ids_to_tokens(4) == "|"
        ids = tokenizer("HELLO WORLD")["input_ids"]
        assert tokenizer.decode(ids, group_tokens=False) == "HELLO WORLD"


def test_ctc_vocabulary_is_librispeech_style():
    letters = {chr(c) for c in range(ord("A"), ord("Z") + 1)}
    assert CTC_LABELS[:5] == ("<pad>", "<s>", "</s>", "<unk>", "|")
    assert set(CTC_LABELS[5:]) == letters | {"'"}


def test_voice_is_a_unit_xvector(tiny):
    voice = np.load(tiny.voice)
    assert voice.shape == (512,) and voice.dtype == np.float32
    assert np.linalg.norm(voice) == pytest.approx(1.0, rel=1e-5)


def test_builds_are_seeded_and_quick(tiny, tmp_path):
    started = time.perf_counter()
    again = build_tiny_checkpoints(tmp_path)
    assert time.perf_counter() - started < 10
    for name in ("speecht5", "hifigan", "wav2vec2", "hubert"):
        first = (getattr(tiny, name) / "model.safetensors").read_bytes()
        assert (getattr(again, name) / "model.safetensors").read_bytes() == first
    np.testing.assert_array_equal(np.load(again.voice), np.load(tiny.voice))


def test_unknown_full_size_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="wav2vec2-base"):
        build_random_full_size(tmp_path, "whisper")


@pytest.mark.slow
def test_full_size_vocoder_has_default_dimensions_and_the_marker(tmp_path):
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    folder = build_random_full_size(tmp_path, "hifigan")
    vocoder = SpeechT5HifiGan.from_pretrained(folder)
    assert vocoder.config.speechlab_untrained
    assert (
        vocoder.config.upsample_initial_channel == SpeechT5HifiGanConfig().upsample_initial_channel
    )
