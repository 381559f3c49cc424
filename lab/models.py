"""Which models the lab knows, where their weights are, and one shared loaded copy of each.

* :data:`KNOWN_MODELS` — the table: registry name, kind, hub ids, description, size hint.
* :func:`get_synthesizer` / :func:`get_recognizer` — a known name, any hub id ("org/name"), a
  local folder, or an instance (passed through). Each model loads once per process and is shared.
* :func:`list_models` / :func:`download` — what is in the local Hugging Face cache, and fetching it.
* :func:`set_allowlist` / :func:`allowed_models` / ``SPEECHLAB_ALLOWED_MODELS`` — dashboards offer
  only the models they list; free-form ids are for notebooks.
* :func:`default_pair` — the neural pair when its weights are here, else the bundled offline pair.

The local cache is always looked at first, so a machine without network answers at once with a
:class:`~lab.errors.ModelUnavailableError` that says which command fixes it, instead of waiting on
network time-outs. The cache location is huggingface_hub's own (``HF_HOME`` / ``HF_HUB_CACHE``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import model_cache, service
from lab.errors import (
    BackendError,
    LabError,
    ModelNotAllowedError,
    ModelUnavailableError,
    UnknownModelError,
)

SYNTHESIZER = "synthesizer"
RECOGNIZER = "recognizer"
SPEAKER_EMBEDDING = "speaker-embedding"
DATASET = "dataset"

ALLOWLIST_ENV = "SPEECHLAB_ALLOWED_MODELS"
"""Comma-separated registry names, hub ids or folders a dashboard may load."""

WEIGHT_PATTERNS = ("*.json", "*.safetensors", "*.bin", "*.model", "*.txt")
"""What ``download`` fetches from a model repo: configs, tokenizers, weights; no other formats."""
DATASET_PATTERNS = ("*.json", "*.zip", "*.npy", "*.parquet")
HUB_PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ModelInfo:
    """One entry of the registry."""

    name: str
    kind: str
    """'synthesizer', 'recognizer', 'speaker-embedding' or 'dataset'."""
    hub_ids: tuple[str, ...]
    """Hugging Face repos it needs (empty for the bundled models)."""
    description: str
    size_mb: int
    """Approximate download (or install) size."""
    bundled: bool = False
    """Installed with the lab (a Python package): works with no network at all."""
    repo_type: str = "model"
    cached: bool = False
    """Weights present on this machine (filled in by :func:`list_models`)."""

    @property
    def size(self) -> str:
        return f"{self.size_mb / 1000:.1f} GB" if self.size_mb >= 1000 else f"{self.size_mb} MB"


KNOWN_MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo(
            "speecht5",
            SYNTHESIZER,
            ("microsoft/speecht5_tts", "microsoft/speecht5_hifigan"),
            "SpeechT5 text-to-speech with the HiFi-GAN vocoder: 16 kHz, log-mel, cross-attention",
            640,
        ),
        ModelInfo(
            "piper",
            SYNTHESIZER,
            (),
            "Piper VITS voice 'joe' (CC0), bundled and offline: 22.05 kHz audio only",
            65,
            bundled=True,
        ),
        ModelInfo(
            "wav2vec2-base-960h",
            RECOGNIZER,
            ("facebook/wav2vec2-base-960h",),
            "wav2vec 2.0 base fine-tuned on LibriSpeech 960 h (CTC)",
            380,
        ),
        ModelInfo(
            "wav2vec2-large-960h-lv60-self",
            RECOGNIZER,
            ("facebook/wav2vec2-large-960h-lv60-self",),
            "wav2vec 2.0 large, Libri-Light 60k h + self-training (CTC)",
            1270,
        ),
        ModelInfo(
            "hubert-large-ls960-ft",
            RECOGNIZER,
            ("facebook/hubert-large-ls960-ft",),
            "HuBERT large fine-tuned on LibriSpeech 960 h (CTC)",
            1270,
        ),
        ModelInfo(
            "pocketsphinx",
            RECOGNIZER,
            (),
            "PocketSphinx 5 US English HMM + n-gram, bundled and offline: words with times",
            30,
            bundled=True,
        ),
        ModelInfo(
            "wavlm-xvector",
            SPEAKER_EMBEDDING,
            ("microsoft/wavlm-base-plus-sv",),
            "WavLM base plus x-vector head: speaker embeddings from a recording (new voices)",
            380,
        ),
        ModelInfo(
            "cmu-arctic-xvectors",
            DATASET,
            ("Matthijs/cmu-arctic-xvectors",),
            "x-vectors of the CMU ARCTIC speakers: SpeechT5 voices",
            20,
            repo_type="dataset",
        ),
    )
}

NEURAL_PAIR = ("speecht5", "wav2vec2-base-960h")
BUNDLED_PAIR = ("piper", "pocketsphinx")
BUNDLED_NOTICE = (
    "The pretrained models are not available offline; the bundled Piper voice and PocketSphinx "
    "stand in. Run `speechlab models download speecht5 wav2vec2-base-960h` to use them."
)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_CTC_MODEL_TYPES = {
    "wav2vec2",
    "wav2vec2-conformer",
    "hubert",
    "wavlm",
    "data2vec-audio",
    "sew",
    "sew-d",
    "unispeech",
    "unispeech-sat",
}


# --- the hub cache -------------------------------------------------------------------------
def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) forbids network access."""
    from huggingface_hub import constants

    return (
        _truthy(os.environ.get("HF_HUB_OFFLINE"))
        or _truthy(os.environ.get("TRANSFORMERS_OFFLINE"))
        or bool(constants.HF_HUB_OFFLINE)
    )


_probe_lock = threading.Lock()
_probe: tuple[float, bool] | None = None


def hub_reachable() -> bool:
    """Whether the hub answers a TCP connection within a few seconds (remembered for a minute).

    Offline mode answers False at once; behind a proxy the answer is True and downloads decide.
    """
    global _probe
    if hub_offline():
        return False
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    with _probe_lock:
        if _probe is not None and time.monotonic() - _probe[0] < 60:
            return _probe[1]
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    answer: list[bool] = []

    def connect() -> None:
        import socket

        try:
            with socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT_S):
                answer.append(True)
        except OSError:
            answer.append(False)

    # name resolution has no time-out of its own: wait on a thread instead
    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(HUB_PROBE_TIMEOUT_S + 0.5)
    reachable = bool(answer and answer[0])
    with _probe_lock:
        _probe = (time.monotonic(), reachable)
    return reachable


def cache_dir() -> Path:
    """The Hugging Face hub cache this process uses (HF_HUB_CACHE, else HF_HOME/hub)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_snapshot(repo_id: str, repo_type: str = "model") -> Path | None:
    """The local snapshot folder of a repo when its files are cached, else None. Never networked.

    A model counts as cached when its config.json and a weights file are there.
    """
    from huggingface_hub import snapshot_download

    try:
        folder = Path(
            snapshot_download(
                repo_id,
                repo_type=repo_type,
                local_files_only=True,
                allow_patterns=["*.json"],
            )
        )
    except Exception:  # not cached, incomplete, or not a valid repo id: all mean "not here"
        return None
    if not folder.is_dir():
        return None
    if repo_type == "model":
        has_config = (folder / "config.json").is_file()
        has_weights = any(folder.glob("*.safetensors")) or any(folder.glob("*.bin"))
        return folder if has_config and has_weights else None
    patterns = DATASET_PATTERNS
    return folder if any(f for p in patterns for f in folder.rglob(p)) else None


def is_cached(name: str) -> bool:
    """Whether a known model (all of its repos) or a hub id is available on this machine."""
    info = KNOWN_MODELS.get(name)
    if info is None:
        return _HUB_ID.match(name) is not None and cached_snapshot(name) is not None
    if info.bundled:
        return _bundled_ok(name)
    return all(cached_snapshot(i, info.repo_type) is not None for i in info.hub_ids)


def _download_hint(name: str) -> str:
    return (
        f"run `speechlab models download {name}` on a machine with network (with the same "
        "HF_HOME, or copy its Hugging Face cache here), or pass a local folder"
    )


def _unavailable(label: str, repo_id: str, download_name: str) -> ModelUnavailableError:
    why = (
        "HF_HUB_OFFLINE is set"
        if hub_offline()
        else "the Hugging Face hub cannot be reached from this machine"
    )
    named = label if label == repo_id else f"{label} ({repo_id})"
    return ModelUnavailableError(
        f"The model {named} is not in the local Hugging Face cache ({cache_dir()}) "
        f"and {why}: {_download_hint(download_name)}."
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def local_snapshot(name_or_id: str) -> Path:
    """Folder holding a known model's (first) repo or a hub id, downloading it when the hub answers.

    Raises :class:`ModelUnavailableError` (with the command that fixes it) when it is neither
    cached nor downloadable.
    """
    info = KNOWN_MODELS.get(name_or_id)
    if info is not None and info.bundled:
        raise UnknownModelError(f"{name_or_id} is bundled with the lab and has no hub snapshot.")
    repo_id = info.hub_ids[0] if info else name_or_id
    repo_type = info.repo_type if info else "model"
    return _resolve_repo(repo_id, repo_type, label=name_or_id, download_name=name_or_id)


def _resolve_repo(repo_id: str, repo_type: str, *, label: str, download_name: str) -> Path:
    folder = cached_snapshot(repo_id, repo_type)
    if folder is not None:
        return folder
    if not hub_reachable():
        raise _unavailable(label, repo_id, download_name)
    return _fetch(repo_id, repo_type, label=label)


def _fetch(repo_id: str, repo_type: str, *, label: str) -> Path:
    from huggingface_hub import HfApi, snapshot_download

    patterns = list(DATASET_PATTERNS if repo_type == DATASET else WEIGHT_PATTERNS)
    try:
        if repo_type == "model":
            files = HfApi().list_repo_files(repo_id, repo_type=repo_type)
            if any(f.endswith(".safetensors") for f in files):
                patterns.remove("*.bin")  # the same weights twice otherwise
        return Path(snapshot_download(repo_id, repo_type=repo_type, allow_patterns=patterns))
    except LabError:
        raise
    except Exception as exc:
        name = type(exc).__name__
        if name in {"RepositoryNotFoundError", "GatedRepoError", "HFValidationError"}:
            raise UnknownModelError(
                f"The hub has no accessible {repo_type} repo {repo_id!r} ({_first_line(exc)})."
            ) from None
        raise ModelUnavailableError(
            f"Could not download {label} ({repo_id}): {_first_line(exc)}; {_download_hint(label)}."
        ) from None


# --- bundled models ------------------------------------------------------------------------
def _bundled_ok(name: str) -> bool:
    import importlib.util

    if name == "piper":
        if importlib.util.find_spec("piper") is None:
            return False
        try:
            from lab.backends.piper import bundled_voice_paths

            bundled_voice_paths()
        except LabError:
            return False
        return True
    if name == "pocketsphinx":
        return importlib.util.find_spec("pocketsphinx") is not None
    return False


def bundled_available() -> bool:
    """Whether the offline pair (Piper voice + PocketSphinx) is installed and usable."""
    return all(_bundled_ok(n) for n in BUNDLED_PAIR)


# --- allowlist -----------------------------------------------------------------------------
_allow_lock = threading.Lock()
_allowlist: frozenset[str] | None = None


def set_allowlist(names: Iterable[str] | None) -> None:
    """Allow only these names (registry names, hub ids or folders); None lifts the restriction.

    Set in code, it takes precedence over ``SPEECHLAB_ALLOWED_MODELS``.
    """
    global _allowlist
    with _allow_lock:
        _allowlist = None if names is None else frozenset(_clean(n) for n in names if _clean(n))


def get_allowlist() -> frozenset[str] | None:
    """The names get_* accept now, or None when anything goes."""
    with _allow_lock:
        if _allowlist is not None:
            return _allowlist
    env = os.environ.get(ALLOWLIST_ENV, "").strip()
    if not env:
        return None
    return frozenset(_clean(n) for n in env.split(",") if _clean(n))


@contextlib.contextmanager
def allowed_models(names: Iterable[str] | None) -> Iterator[None]:
    """``with allowed_models(["piper", "pocketsphinx"]): ...`` restores the previous list after."""
    global _allowlist
    with _allow_lock:
        previous = _allowlist
    set_allowlist(names)
    try:
        yield
    finally:
        with _allow_lock:
            _allowlist = previous


def _clean(name: str) -> str:
    return str(name).strip()


def _aliases(name: str) -> set[str]:
    """A request and the names it is the same model under (registry name <-> primary hub id)."""
    out = {name}
    info = KNOWN_MODELS.get(name)
    if info is not None and info.hub_ids:
        out.add(info.hub_ids[0])
    for known in KNOWN_MODELS.values():
        if known.hub_ids and known.hub_ids[0] == name:
            out.add(known.name)
    return out


def _check_allowed(request: str, kind: str) -> None:
    allowed = get_allowlist()
    if allowed is None or _aliases(request) & allowed:
        return
    offered = [n for n in sorted(allowed) if _kind_of_name(n) in (kind, None)] or sorted(allowed)
    raise ModelNotAllowedError(
        f"The {kind} {request!r} is not offered here; choose one of: {', '.join(offered)}."
    )


def _kind_of_name(name: str) -> str | None:
    info = KNOWN_MODELS.get(name)
    return info.kind if info else None


# --- loading, once per process -------------------------------------------------------------
def _load_once(key: tuple[str, ...], make: Callable[[], Any]) -> Any:
    info = KNOWN_MODELS.get(key[-1])
    return model_cache.cache.get(key, make, fallback_mb=info.size_mb if info else 0.0)


def loaded_models() -> list[str]:
    """Keys of the models loaded in this process, least recently used first."""
    return [m.key for m in model_cache.cache.loaded()]


def clear_loaded() -> None:
    """Forget every loaded model (frees memory once no one else holds them)."""
    model_cache.cache.clear()


def _guarded_load(label: str, load: Callable[[], Any]) -> Any:
    try:
        return load()
    except LabError:
        raise
    except Exception as exc:
        raise BackendError(f"Could not load {label}: {_first_line(exc)}") from None


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise UnknownModelError(
            f"{folder} has no config.json: it is not a model checkpoint folder."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackendError(f"Cannot read {path}: {_first_line(exc)}") from None
    return data if isinstance(data, dict) else {}


def _family(config: dict[str, Any]) -> str:
    model_type = str(config.get("model_type", ""))
    architectures = [str(a) for a in config.get("architectures") or []]
    if model_type == "speecht5" or any("SpeechT5ForTextToSpeech" in a for a in architectures):
        return "speecht5"
    if model_type == "hifigan" or any("HifiGan" in a for a in architectures):
        return "vocoder"
    if any(a.endswith("ForCTC") for a in architectures) or model_type in _CTC_MODEL_TYPES:
        return "ctc"
    return model_type or "unknown"


def _as_folder(value: str | os.PathLike[str]) -> Path | None:
    path = Path(value).expanduser()
    return path.resolve() if path.is_dir() else None


def _known_names(kind: str) -> str:
    return ", ".join(n for n, i in KNOWN_MODELS.items() if i.kind == kind)


def _unknown(request: str, kind: str) -> UnknownModelError:
    return UnknownModelError(
        f"Unknown {kind} {request!r}: use one of {_known_names(kind)}, a hub id like "
        "'org/name', or a local checkpoint folder."
    )


def _wrong_kind(request: str, kind: str, actual: str) -> UnknownModelError:
    return UnknownModelError(
        f"{request!r} is a {actual}, not a {kind}: {kind}s are {_known_names(kind)}, "
        "a hub id, or a local folder."
    )


def folder_label(folder: str | os.PathLike[str]) -> str:
    """How a model loaded from a local folder is named in results and views: the folder's own
    name, so that no server path reaches a dashboard visitor or a shared result file."""
    path = Path(folder)
    return path.name or str(path)


def get_synthesizer(model: Any = None) -> Any:
    """A loaded synthesizer for a registry name, hub id, local folder (``"tts+vocoder"`` for two
    folders or ids) or instance; None picks :func:`default_pair`'s synthesizer."""
    from lab.backends.base import Synthesizer

    if model is None:
        model = default_pair()[0]
    if not isinstance(model, (str, os.PathLike)):
        if isinstance(model, Synthesizer):
            return model
        raise TypeError(
            f"Expected a model name, folder or Synthesizer, got {type(model).__name__}."
        )
    request = _clean(os.fspath(model))
    if not request:
        raise _unknown(request, SYNTHESIZER)
    _check_allowed(request, SYNTHESIZER)
    if service.active():
        return service.remote(SYNTHESIZER, request)

    info = KNOWN_MODELS.get(request)
    if info is not None:
        if info.kind != SYNTHESIZER:
            raise _wrong_kind(request, SYNTHESIZER, info.kind)
        if request == "piper":
            return _load_once((SYNTHESIZER, "piper"), _piper)
        tts_id, vocoder_id = info.hub_ids
        return _speecht5(tts_id, vocoder_id, name=request, download_name=request)

    folder = _as_folder(request)
    if folder is not None:
        family = _family(_read_config(folder))
        if family != "speecht5":
            raise _wrong_kind(request, SYNTHESIZER, _family_label(family))
        vocoder = folder / "vocoder"
        vocoder_source = str(vocoder) if (vocoder / "config.json").is_file() else None
        return _speecht5(
            str(folder), vocoder_source, name=folder_label(folder), download_name=request
        )

    if "+" in request:
        tts, _, vocoder_id = (p.strip() for p in request.partition("+"))
        if (_as_folder(tts) or _HUB_ID.match(tts)) and (
            _as_folder(vocoder_id) or _HUB_ID.match(vocoder_id)
        ):
            return _speecht5(tts, vocoder_id, name=folder_label(tts), download_name=tts)

    if _HUB_ID.match(request) and not request.startswith((".", "/", "~")):
        return _speecht5(request, None, name=request, download_name=request)
    raise _unknown(request, SYNTHESIZER)


def get_recognizer(model: Any = None) -> Any:
    """A loaded recognizer for a registry name, hub id, local folder or instance; None picks
    :func:`default_pair`'s recognizer."""
    from lab.backends.base import Recognizer

    if model is None:
        model = default_pair()[1]
    if not isinstance(model, (str, os.PathLike)):
        if isinstance(model, Recognizer):
            return model
        raise TypeError(f"Expected a model name, folder or Recognizer, got {type(model).__name__}.")
    request = _clean(os.fspath(model))
    if not request:
        raise _unknown(request, RECOGNIZER)
    _check_allowed(request, RECOGNIZER)
    if service.active():
        return service.remote(RECOGNIZER, request)

    info = KNOWN_MODELS.get(request)
    if info is not None:
        if info.kind != RECOGNIZER:
            raise _wrong_kind(request, RECOGNIZER, info.kind)
        if request == "pocketsphinx":
            return _load_once((RECOGNIZER, "pocketsphinx"), _pocketsphinx)
        return _ctc(info.hub_ids[0], name=request, download_name=request)

    folder = _as_folder(request)
    if folder is not None:
        family = _family(_read_config(folder))
        if family != "ctc":
            raise _wrong_kind(request, RECOGNIZER, _family_label(family))
        return _load_once(
            (RECOGNIZER, str(folder)),
            lambda: _guarded_load(request, lambda: _ctc_from(str(folder), folder_label(folder))),
        )

    if _HUB_ID.match(request) and not request.startswith((".", "/", "~")):
        return _ctc(request, name=request, download_name=request)
    raise _unknown(request, RECOGNIZER)


def _family_label(family: str) -> str:
    return {
        "speecht5": "SpeechT5 text-to-speech checkpoint (a synthesizer)",
        "vocoder": "vocoder checkpoint (pass it as 'tts_folder+vocoder_folder')",
        "ctc": "CTC speech recognition checkpoint (a recognizer)",
    }.get(family, f"{family!r} checkpoint")


def _piper() -> Any:
    from lab.backends.piper import PiperSynthesizer

    return _guarded_load("the bundled Piper voice", PiperSynthesizer)


def _pocketsphinx() -> Any:
    from lab.backends.sphinx import PocketSphinxRecognizer

    return PocketSphinxRecognizer()


def _source(ref: str, *, label: str, download_name: str) -> tuple[str, str]:
    """(key, folder) for a folder or hub id; hub ids resolve through the local cache first."""
    folder = _as_folder(ref)
    if folder is not None:
        return str(folder), str(folder)
    if not _HUB_ID.match(ref):
        raise UnknownModelError(f"{ref!r} is neither a local folder nor a hub id like 'org/name'.")
    snapshot = _resolve_repo(ref, "model", label=label, download_name=download_name)
    return ref, str(snapshot)


def _speecht5(tts: str, vocoder: str | None, *, name: str, download_name: str) -> Any:
    default_vocoder = KNOWN_MODELS["speecht5"].hub_ids[1]
    vocoder_ref = vocoder or default_vocoder

    def make() -> Any:
        _, tts_folder = _source(tts, label=name, download_name=download_name)
        _expect_family(tts_folder, "speecht5", tts, SYNTHESIZER)
        vocoder_label = name if vocoder else "speecht5"
        _, vocoder_folder = _source(vocoder_ref, label=vocoder_label, download_name=download_name)
        if _family(_read_config(Path(vocoder_folder))) != "vocoder":
            raise UnknownModelError(
                f"{vocoder_ref!r} is not a HiFi-GAN vocoder checkpoint (its config.json says "
                "otherwise): pass 'tts_folder+vocoder_folder'."
            )
        from lab.backends.speecht5 import SpeechT5Synthesizer

        return _guarded_load(
            name,
            lambda: _with_name(
                SpeechT5Synthesizer.from_pretrained, name, model=tts_folder, vocoder=vocoder_folder
            ),
        )

    return _load_once((SYNTHESIZER, _source_key(tts), _source_key(vocoder_ref)), make)


def _ctc(repo_id: str, *, name: str, download_name: str) -> Any:
    def make() -> Any:
        _, folder = _source(repo_id, label=name, download_name=download_name)
        _expect_family(folder, "ctc", repo_id, RECOGNIZER)
        return _guarded_load(name, lambda: _ctc_from(folder, name))

    return _load_once((RECOGNIZER, repo_id), make)


def _ctc_from(folder: str, name: str) -> Any:
    from lab.backends.ctc import CTCRecognizer

    return _with_name(CTCRecognizer.from_pretrained, name, folder)


def _source_key(ref: str) -> str:
    """Cache key of a folder or hub id: registry name and hub id share one loaded copy."""
    folder = _as_folder(ref)
    return str(folder) if folder is not None else ref


def _expect_family(folder: str, family: str, request: str, kind: str) -> None:
    actual = _family(_read_config(Path(folder)))
    if actual != family:
        raise _wrong_kind(request, kind, _family_label(actual))


def _with_name(load: Callable[..., Any], name: str, *args: Any, **kwargs: Any) -> Any:
    """Call a backend's from_pretrained so the loaded model carries its registry name."""
    import inspect

    try:
        takes_name = "name" in inspect.signature(load).parameters
    except (TypeError, ValueError):
        takes_name = False
    if takes_name:
        return load(*args, name=name, **kwargs)
    instance = load(*args, **kwargs)
    with contextlib.suppress(AttributeError, dataclasses.FrozenInstanceError):
        instance.name = name
    return instance


# --- listing, downloading, defaults --------------------------------------------------------
def list_models() -> list[ModelInfo]:
    """Every known model with ``cached`` telling whether it can load here without network."""
    return [
        dataclasses.replace(info, cached=is_cached(info.name)) for info in KNOWN_MODELS.values()
    ]


def download(name: str, progress: Callable[[str], None] | None = None) -> list[Path]:
    """Fetch a known model's repos (or a hub id) into the Hugging Face cache; weights only.

    Returns the snapshot folders. Bundled models need nothing and return an empty list.
    """
    say = progress or (lambda message: None)
    request = _clean(name)
    info = KNOWN_MODELS.get(request)
    if info is None:
        if not _HUB_ID.match(request):
            raise UnknownModelError(
                f"Unknown model {request!r}: use one of {', '.join(KNOWN_MODELS)} or a hub id like "
                "'org/name'."
            )
        info = ModelInfo(request, "model", (request,), "", 0)
    if info.bundled:
        say(f"{request} is bundled with the lab: nothing to download.")
        return []
    folders: list[Path] = []
    for repo_id in info.hub_ids:
        cached = cached_snapshot(repo_id, info.repo_type)
        if cached is not None:
            say(f"{repo_id} is already cached.")
            folders.append(cached)
            continue
        if not hub_reachable():
            why = (
                "HF_HUB_OFFLINE is set"
                if hub_offline()
                else "the Hugging Face hub cannot be reached from this machine"
            )
            raise ModelUnavailableError(
                f"Cannot download {request} ({repo_id}): {why}; run "
                f"`speechlab models download {request}` on a machine with network and copy its "
                f"Hugging Face cache ({cache_dir()}) here, or pass a local folder."
            )
        say(f"Downloading {repo_id}…")
        folders.append(_fetch(repo_id, info.repo_type, label=request))
    return folders


def default_pair(prefer_neural: bool = True) -> tuple[str, str, str | None]:
    """(synthesizer, recognizer, notice): the neural pair when its weights are here, otherwise the
    bundled pair with a notice saying how to get the neural one (None when nothing to say)."""
    synth, rec = NEURAL_PAIR
    if not prefer_neural:
        return (*BUNDLED_PAIR, None)
    allowed = get_allowlist()
    neural_allowed = allowed is None or all(_aliases(n) & allowed for n in NEURAL_PAIR)
    if neural_allowed and is_cached(synth) and is_cached(rec):
        return synth, rec, None
    return (*BUNDLED_PAIR, BUNDLED_NOTICE if neural_allowed else None)
