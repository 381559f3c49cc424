"""Speaker x-vectors that give SpeechT5 its voice.

SpeechT5 speaks in the voice of a 512-number speaker embedding (an x-vector). Voices come from:

* the CMU ARCTIC x-vectors on the Hugging Face hub (dataset ``Matthijs/cmu-arctic-xvectors``,
  one ``.npy`` per utterance inside ``spkrec-xvect.zip``); :data:`ARCTIC_VOICES` names one
  utterance per speaker ("slt" is the one the transformers documentation uses, row 7306);
* ``<name>.npy`` files in a voices folder: ``$SPEECHLAB_VOICES``, else
  ``~/.cache/speechlab/voices`` (:func:`download_arctic_voices` writes the named ones there);
* a recording, through a speaker-verification model (:meth:`Voice.from_recording`).

Nothing here falls back to a zero vector: a missing voice is an error that says how to get it.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.audio import Audio
from lab.errors import ModelUnavailableError, UnknownModelError

XVECTOR_DIM = 512
ARCTIC_REPO = "Matthijs/cmu-arctic-xvectors"
ARCTIC_ARCHIVE = "spkrec-xvect.zip"
ARCTIC_VOICES: dict[str, tuple[str, str]] = {
    "slt": ("cmu_us_slt_arctic-wav-arctic_a0508", "US female"),
    "clb": ("cmu_us_clb_arctic-wav-arctic_a0144", "US female"),
    "bdl": ("cmu_us_bdl_arctic-wav-arctic_a0009", "US male"),
    "rms": ("cmu_us_rms_arctic-wav-arctic_b0353", "US male"),
    "ksp": ("cmu_us_ksp_arctic-wav-arctic_b0087", "Indian male"),
}
"""Voice name -> (utterance file in the archive without ``.npy``, speaker description)."""
DEFAULT_VOICE = "slt"
WAVLM_XVECTOR = "microsoft/wavlm-base-plus-sv"
DOWNLOAD_VOICES_HINT = (
    "run `speechlab models download cmu-arctic-xvectors` (or `lab.voices.download_arctic_voices()`) "
    "where the Hugging Face hub is reachable"
)


@dataclass(frozen=True, eq=False)
class Voice:
    name: str
    xvector: np.ndarray
    """(512,) float32 speaker embedding of unit length."""
    source: str
    """Where it came from: a file, the ARCTIC archive, or a recording."""

    def __post_init__(self) -> None:
        vector = np.asarray(self.xvector, dtype=np.float32).reshape(-1)
        if vector.size != XVECTOR_DIM:
            raise ValueError(
                f"Voice {self.name!r} has {vector.size} numbers; a SpeechT5 x-vector has {XVECTOR_DIM}."
            )
        if not np.isfinite(vector).all() or not np.any(vector):
            raise ValueError(f"Voice {self.name!r} is not a usable x-vector (zero, NaN or inf).")
        vector = np.ascontiguousarray(vector)
        vector.setflags(write=False)
        object.__setattr__(self, "xvector", vector)

    @classmethod
    def from_npy(cls, path: str | Path, name: str | None = None) -> Voice:
        path = Path(path)
        return cls(name or path.stem, np.load(path, allow_pickle=False), str(path))

    @classmethod
    def from_recording(
        cls, audio: Audio, model: str | Path = WAVLM_XVECTOR, name: str = "recording"
    ) -> Voice:
        """X-vector of a recording from a WavLM speaker-verification model, L2-normalised as
        SpeechT5 expects."""
        import torch
        from transformers import AutoFeatureExtractor, WavLMForXVector

        try:
            extractor = AutoFeatureExtractor.from_pretrained(str(model))
            xvector_model = WavLMForXVector.from_pretrained(str(model)).eval()
        except OSError as exc:
            raise ModelUnavailableError(
                f"The speaker model {model} could not be loaded ({_first_line(exc)}): run "
                "`speechlab models download wavlm-xvector` where the Hugging Face hub is reachable."
            ) from exc
        rate = int(extractor.sampling_rate)
        samples = audio.resample(rate).samples
        with torch.inference_mode():
            inputs = extractor(samples, sampling_rate=rate, return_tensors="pt")
            embedding = xvector_model(**inputs).embeddings[0]
            embedding = torch.nn.functional.normalize(embedding, dim=-1)
        return cls(name, embedding.numpy(), f"recording via {model}")

    def __repr__(self) -> str:
        return f"Voice({self.name!r}, from {self.source})"


# --- where voices live -------------------------------------------------------------------------
def voices_dir() -> Path:
    """``$SPEECHLAB_VOICES`` if set, else ``~/.cache/speechlab/voices``."""
    folder = os.environ.get("SPEECHLAB_VOICES")
    return Path(folder).expanduser() if folder else Path.home() / ".cache" / "speechlab" / "voices"


def local_voices() -> dict[str, Path]:
    """``<name>.npy`` files in :func:`voices_dir`, by name."""
    folder = voices_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.npy")) if p.is_file()}


def arctic_archive(*, download: bool = False) -> Path | None:
    """Path of the ARCTIC x-vector archive in the Hugging Face cache (None when it is not there
    and ``download`` is False). Downloading needs the hub."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(
            hf_hub_download(
                ARCTIC_REPO,
                ARCTIC_ARCHIVE,
                repo_type="dataset",
                cache_dir=os.environ.get("HF_HUB_CACHE"),
                local_files_only=not download,
            )
        )
    except LocalEntryNotFoundError:
        if download:
            raise ModelUnavailableError(
                f"The CMU ARCTIC x-vectors ({ARCTIC_REPO}) could not be downloaded: the Hugging "
                f"Face hub is unreachable from here; {DOWNLOAD_VOICES_HINT}, or put <name>.npy "
                f"x-vectors in {voices_dir()}."
            ) from None
        return None
    except OSError as exc:
        if download:
            raise ModelUnavailableError(
                f"The CMU ARCTIC x-vectors ({ARCTIC_REPO}) could not be downloaded "
                f"({_first_line(exc)}); {DOWNLOAD_VOICES_HINT}."
            ) from exc
        return None


def download_arctic_voices(names: list[str] | None = None) -> list[Path]:
    """Fetch the ARCTIC archive and write the named voices (all of :data:`ARCTIC_VOICES` by
    default) as ``<name>.npy`` into :func:`voices_dir`, so they work offline from then on."""
    names = list(ARCTIC_VOICES) if names is None else names
    for name in names:
        if name not in ARCTIC_VOICES:
            raise UnknownModelError(_unknown(name))
    archive = arctic_archive(download=True)
    assert archive is not None
    folder = voices_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(archive) as zf:
        for name in names:
            vector = _read_from_archive(zf, name)
            target = folder / f"{name}.npy"
            np.save(target, vector)
            written.append(target)
    return written


def available_voices() -> tuple[str, ...]:
    """Voice names usable right now, without the network: ARCTIC voices first (table order),
    then other local files."""
    local = local_voices()
    archive_cached = arctic_archive() is not None
    names = [n for n in ARCTIC_VOICES if n in local or archive_cached]
    names += [n for n in local if n not in ARCTIC_VOICES]
    return tuple(names)


def missing_voices() -> str:
    """One sentence on which named voices are missing and how to get them ("" when none are)."""
    have = set(available_voices())
    missing = [n for n in ARCTIC_VOICES if n not in have]
    if not missing:
        return ""
    return (
        f"The CMU ARCTIC voices {', '.join(missing)} are missing: neither {voices_dir()} nor the "
        f"Hugging Face cache holds them ({ARCTIC_REPO}); {DOWNLOAD_VOICES_HINT}, or put "
        f"<name>.npy x-vectors in {voices_dir()}."
    )


def get_voice(voice: str | Path | Voice | None = None) -> Voice:
    """A voice by name, a path to an ``.npy`` x-vector, a :class:`Voice`, or None for the default
    ("slt" if available, else the first local voice)."""
    if isinstance(voice, Voice):
        return voice
    if voice is None:
        names = available_voices()
        if not names:
            raise ModelUnavailableError(missing_voices())
        voice = DEFAULT_VOICE if DEFAULT_VOICE in names else names[0]
    if isinstance(voice, Path) or str(voice).endswith(".npy"):
        path = Path(voice)
        if not path.is_file():
            raise UnknownModelError(
                f"No voice file at {path}: give a .npy x-vector of 512 numbers."
            )
        return Voice.from_npy(path)
    name = str(voice)
    local = local_voices()
    if name in local:
        return Voice.from_npy(local[name])
    if name in ARCTIC_VOICES:
        archive = arctic_archive()
        if archive is None:
            raise ModelUnavailableError(missing_voices())
        with zipfile.ZipFile(archive) as zf:
            vector = _read_from_archive(zf, name)
        return Voice(name, vector, f"{ARCTIC_REPO} {ARCTIC_VOICES[name][0]}")
    raise UnknownModelError(_unknown(name))


def _read_from_archive(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    member = f"spkrec-xvect/{ARCTIC_VOICES[name][0]}.npy"
    try:
        data = zf.read(member)
    except KeyError:
        raise ModelUnavailableError(
            f"The ARCTIC archive has no {member}; {DOWNLOAD_VOICES_HINT} to fetch a fresh copy."
        ) from None
    return np.load(io.BytesIO(data), allow_pickle=False).astype(np.float32).reshape(-1)


def _unknown(name: str) -> str:
    known = sorted(set(ARCTIC_VOICES) | set(local_voices()))
    return (
        f"Unknown voice {name!r}: choose one of {', '.join(known)}, or give a .npy x-vector file."
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
