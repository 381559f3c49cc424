"""Random-weight checkpoints saved like hub checkpoints, for tests and benchmarks.

Tests never reach the hub: they build these folders at test time and load them through the same
``from_pretrained`` code path a hub id takes. Every config written here carries
``speechlab_untrained: true``, so whatever these models produce is labelled untrained.

* :func:`build_tiny_checkpoints` — small seeded models (SpeechT5 + HiFi-GAN, wav2vec2 CTC, HuBERT
  CTC) that build in about a second and run in milliseconds.
* :func:`build_random_full_size` — default-size architectures with random weights, which cost the
  same time as the pretrained ones: what benchmarks measure.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

UNTRAINED_MARKER = "speechlab_untrained"
LENGTH_RATIO_KEY = "speechlab_length_ratio"
"""A SpeechT5 config entry fixing decoder steps per text token (min = max length ratio): random
weights never decide to stop the same way twice, so load tests and benchmarks fix the length."""
STEADY_LENGTH_RATIO = 4.0
"""Config attribute that marks random-weight checkpoints."""

CTC_LABELS: tuple[str, ...] = (
    "<pad>", "<s>", "</s>", "<unk>", "|",
    "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L", "U", "M",
    "W", "C", "F", "G", "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z",
)  # fmt: skip
"""LibriSpeech-style CTC vocabulary in facebook/wav2vec2-base-960h order: blank "<pad>" is id 0."""

_SPM_TRAINING_TEXT = (
    "The quick brown fox jumps over the lazy dog.",
    "Speech recognition is getting better every year!",
    "She sells sea shells by the sea shore; he wasn't there.",
    "How vexingly quick daft zebras jump, and why? 0123456789",
    "Pack my box with five dozen liquor jugs: \"yes\" - 'no'.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
)

_SEED = 0


@dataclass(frozen=True)
class TinyCheckpoints:
    """Folders that ``from_pretrained`` loads like hub checkpoints, and one voice file."""

    speecht5: Path
    hifigan: Path
    wav2vec2: Path
    hubert: Path
    voice: Path
    """A 512-float32 x-vector saved with ``np.save`` (unit length, like the CMU ARCTIC ones)."""


def build_tiny_checkpoints(folder: str | Path) -> TinyCheckpoints:
    """Write small seeded random checkpoints under ``folder`` and return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = TinyCheckpoints(
        speecht5=folder / "speecht5",
        hifigan=folder / "hifigan",
        wav2vec2=folder / "wav2vec2",
        hubert=folder / "hubert",
        voice=folder / "voice.npy",
    )
    _save_speecht5(paths.speecht5, _tiny_speecht5_config())
    _save_hifigan(paths.hifigan, _tiny_hifigan_config())
    _save_ctc(paths.wav2vec2, "wav2vec2", _tiny_ctc_config("wav2vec2"))
    _save_ctc(paths.hubert, "hubert", _tiny_ctc_config("hubert"))
    rng = np.random.default_rng(_SEED)
    xvector = rng.standard_normal(512).astype(np.float32)
    np.save(paths.voice, xvector / np.linalg.norm(xvector))
    return paths


def build_random_full_size(folder: str | Path, which: str) -> Path:
    """Default-size architecture with random weights: ``wav2vec2-base``, ``hubert-large``,
    ``speecht5``, ``speecht5-steady`` (decodes exactly :data:`STEADY_LENGTH_RATIO` steps per
    token, as a trained model speaks a sentence) or ``hifigan``. Returns ``folder/which``."""
    from transformers import HubertConfig, SpeechT5Config, SpeechT5HifiGanConfig, Wav2Vec2Config

    target = Path(folder) / which
    if which == "wav2vec2-base":
        _save_ctc(target, "wav2vec2", Wav2Vec2Config(vocab_size=len(CTC_LABELS)))
    elif which == "hubert-large":
        config = HubertConfig(
            vocab_size=len(CTC_LABELS),
            hidden_size=1024,
            num_hidden_layers=24,
            num_attention_heads=16,
            intermediate_size=4096,
            feat_extract_norm="layer",
            do_stable_layer_norm=True,
            conv_bias=True,
        )
        _save_ctc(target, "hubert", config)
    elif which == "speecht5":
        _save_speecht5(target, SpeechT5Config())
    elif which == "speecht5-steady":
        steady = SpeechT5Config()
        setattr(steady, LENGTH_RATIO_KEY, STEADY_LENGTH_RATIO)
        _save_speecht5(target, steady)
    elif which == "hifigan":
        _save_hifigan(target, SpeechT5HifiGanConfig())
    else:
        raise ValueError(
            f"Unknown full-size model {which!r}: choose wav2vec2-base, hubert-large, speecht5, "
            "speecht5-steady or hifigan."
        )
    return target


# --- configs ---------------------------------------------------------------------------------
def _tiny_speecht5_config() -> Any:
    from transformers import SpeechT5Config

    return SpeechT5Config(
        hidden_size=32,
        encoder_layers=2,
        encoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_layers=2,
        decoder_attention_heads=2,
        decoder_ffn_dim=64,
        speech_decoder_prenet_units=32,
        speech_decoder_postnet_layers=2,
        speech_decoder_postnet_units=32,
        encoder_max_relative_position=16,
        max_text_positions=450,
        max_speech_positions=1000,
    )


def _tiny_hifigan_config() -> Any:
    from transformers import SpeechT5HifiGanConfig

    # The upsampling still multiplies to 256 samples per mel frame, as in the real vocoder.
    return SpeechT5HifiGanConfig(
        upsample_initial_channel=16,
        upsample_rates=[4, 4, 4, 4],
        upsample_kernel_sizes=[8, 8, 8, 8],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1, 3]],
    )


def _tiny_ctc_config(kind: str) -> Any:
    from transformers import HubertConfig, Wav2Vec2Config

    common: dict[str, Any] = dict(
        vocab_size=len(CTC_LABELS),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16, 16, 16, 16, 16, 16),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        pad_token_id=0,
    )
    return (Wav2Vec2Config if kind == "wav2vec2" else HubertConfig)(**common)


# --- saving ----------------------------------------------------------------------------------
def _mark(config: Any) -> Any:
    setattr(config, UNTRAINED_MARKER, True)
    return config


def _save_speecht5(target: Path, config: Any) -> None:
    import torch
    from transformers import (
        SpeechT5FeatureExtractor,
        SpeechT5ForTextToSpeech,
        SpeechT5Processor,
        SpeechT5Tokenizer,
    )

    target.mkdir(parents=True, exist_ok=True)
    spm_path = target / "spm_char.model"
    spm_path.write_bytes(_train_char_sentencepiece())
    tokenizer = SpeechT5Tokenizer(vocab_file=str(spm_path))
    config.vocab_size = len(tokenizer)
    torch.manual_seed(_SEED)
    model = SpeechT5ForTextToSpeech(_mark(config)).eval()
    model.save_pretrained(target)
    SpeechT5Processor(
        feature_extractor=SpeechT5FeatureExtractor(), tokenizer=tokenizer
    ).save_pretrained(target)


def _save_hifigan(target: Path, config: Any) -> None:
    import torch
    from transformers import SpeechT5HifiGan

    torch.manual_seed(_SEED)
    vocoder = SpeechT5HifiGan(_mark(config)).eval()
    # The real vocoder stores the mean and scale of its training mels; random ones stay neutral.
    vocoder.mean.zero_()
    vocoder.scale.fill_(1.0)
    vocoder.save_pretrained(target)


def _save_ctc(target: Path, kind: str, config: Any) -> None:
    import torch
    from transformers import (
        HubertForCTC,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    target.mkdir(parents=True, exist_ok=True)
    vocab_path = target / "vocab.json"
    vocab_path.write_text(json.dumps({label: i for i, label in enumerate(CTC_LABELS)}))
    tokenizer = Wav2Vec2CTCTokenizer(
        str(vocab_path), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    feature_extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=config.feat_extract_norm == "layer",
    )
    torch.manual_seed(_SEED)
    model_class = Wav2Vec2ForCTC if kind == "wav2vec2" else HubertForCTC
    model = model_class(_mark(config)).eval()
    model.save_pretrained(target)
    Wav2Vec2Processor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(
        target
    )


def _train_char_sentencepiece() -> bytes:
    """A character-level sentencepiece model with SpeechT5's special ids (<s> 0, <pad> 1, </s> 2,
    <unk> 3), trained in-process on a few lines of English."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_SPM_TRAINING_TEXT),
        model_writer=model,
        model_type="char",
        vocab_size=80,
        hard_vocab_limit=False,
        character_coverage=1.0,
        bos_id=0,
        pad_id=1,
        eos_id=2,
        unk_id=3,
        minloglevel=2,
    )
    return model.getvalue()


def build_tiny_wavlm_xvector(folder: str | Path) -> Path:
    """A small random WavLMForXVector (512-d x-vectors) with its feature extractor, for tests of
    :meth:`lab.voices.Voice.from_recording`."""
    import torch
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    config = WavLMConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16, 16, 16, 16, 16, 16),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        tdnn_dim=(32, 32, 32, 32, 64),
        xvector_output_dim=512,
    )
    torch.manual_seed(_SEED)
    WavLMForXVector(_mark(config)).eval().save_pretrained(target)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, do_normalize=True
    ).save_pretrained(target)
    return target
