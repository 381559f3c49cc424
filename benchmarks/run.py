"""Side-by-side speed, memory and payload measurements: the lab against the plain transformers way.

    python -m benchmarks.run            # full-size random-weight models, several minutes
    python -m benchmarks.run --quick    # a short smoke run

Offline: the models are default-size architectures with random weights (:mod:`lab.tiny`), which
cost the same time as the pretrained ones. Each figure is measured in one run beside a baseline
doing the same work, and written to ``benchmarks/results/latest.json`` and ``latest.md`` as
absolute values, their ratio and whether the target is met (a full run also updates the README's
table). Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results"
README = Path(__file__).parent.parent / "README.md"
README_START = "<!-- benchmark table: written by python -m benchmarks.run -->"
README_END = "<!-- end of benchmark table -->"
SENTENCE = "Speech recognition is getting better every year."
SWEEP_SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
)
LENRATIO = 4.0
"""SpeechT5 decodes exactly (tokens × LENRATIO / 2) steps: random weights never decide to stop the
same way twice, so min = max length makes every run do the same work."""
SEED = 0


@dataclass(frozen=True)
class Models:
    speecht5: Path
    hifigan: Path
    recognizers: tuple[Path, ...]
    """First: the recogniser of the single-item rows; all of them take part in the sweep."""
    kind: str
    """What the weights are, for the report."""


@dataclass(frozen=True)
class Settings:
    clip_s: float
    repeats: int
    sweep_sentences: tuple[str, ...]
    sweep_snrs: tuple[float | None, ...]
    sweep_recognizers: int
    compare_pools: bool


FULL = Settings(10.0, 5, SWEEP_SENTENCES[:2], (None, 10.0, 0.0), 2, False)
QUICK = Settings(2.0, 1, SWEEP_SENTENCES[:2], (None, 0.0), 1, False)


@dataclass
class Row:
    id: str
    figure: str
    baseline: str
    unit: str
    lab: float | None
    baseline_value: float | None
    target: str
    """'<= x' or '>= x' on the ratio lab / baseline."""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.lab is None or not self.baseline_value:
            return None
        return self.lab / self.baseline_value

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if ratio is None or not self.target:
            return None
        op, value = self.target.split()
        return ratio <= float(value) if op == "<=" else ratio >= float(value)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


# --- models ---------------------------------------------------------------------------------
def full_size_models(folder: Path) -> Models:
    """Build (once) the default-size random-weight checkpoints under ``folder``."""
    from lab.tiny import build_random_full_size

    built = {}
    for which in ("speecht5", "hifigan", "wav2vec2-base", "hubert-large"):
        target = folder / which
        if not (target / "config.json").is_file():
            print(f"building random-weight {which} in {target}", file=sys.stderr)
            build_random_full_size(folder, which)
        built[which] = target
    return Models(
        built["speecht5"],
        built["hifigan"],
        (built["wav2vec2-base"], built["hubert-large"]),
        "full-size architectures, random weights",
    )


def tiny_models(folder: Path) -> Models:
    from lab.tiny import build_tiny_checkpoints

    paths = build_tiny_checkpoints(folder)
    return Models(paths.speecht5, paths.hifigan, (paths.wav2vec2, paths.hubert), "tiny random")


def benchmark_voice() -> Any:
    from lab.voices import Voice

    rng = np.random.default_rng(SEED)
    xvector = rng.standard_normal(512).astype(np.float32)
    return Voice("benchmark", xvector / np.linalg.norm(xvector), "seeded random")


PEAK = 0.9
"""A random-weight HiFi-GAN speaks near silence (RMS about 1e-5), too quiet to add noise at an
SNR: both sides scale their audio to this peak, which costs microseconds."""


class AudibleSynthesizer:
    """The registry's SpeechT5 (loaded once per process) at a fixed output length, with its
    audio scaled to :data:`PEAK`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        inner.minlenratio = inner.maxlenratio = LENRATIO
        self.name = inner.name
        self.sample_rate = inner.sample_rate
        self.has_attention = inner.has_attention
        self.has_mel = inner.has_mel
        self.untrained = inner.untrained

    def voices(self) -> tuple[str, ...]:
        return self.inner.voices()

    def synthesize(self, text: str, voice: Any = None) -> Any:
        import dataclasses

        synthesis = self.inner.synthesize(text, voice)
        return dataclasses.replace(synthesis, audio=synthesis.audio.normalized(PEAK))


def lab_synthesizer(models: Models) -> AudibleSynthesizer:
    from lab.models import get_synthesizer

    return AudibleSynthesizer(get_synthesizer(f"{models.speecht5}+{models.hifigan}"))


class Baseline:
    """The plain transformers way: from_pretrained defaults, generate_speech + vocoder, and the
    automatic-speech-recognition pipeline."""

    def __init__(self, models: Models, recognizers: int = 1) -> None:
        import torch
        from transformers import (
            SpeechT5ForTextToSpeech,
            SpeechT5HifiGan,
            SpeechT5Processor,
            pipeline,
        )

        self.processor = SpeechT5Processor.from_pretrained(str(models.speecht5))
        self.tts = SpeechT5ForTextToSpeech.from_pretrained(str(models.speecht5))
        self.vocoder = SpeechT5HifiGan.from_pretrained(str(models.hifigan))
        self.speaker = torch.from_numpy(benchmark_voice().xvector.copy()).unsqueeze(0)
        self.asr = [
            pipeline("automatic-speech-recognition", model=str(path))
            for path in models.recognizers[:recognizers]
        ]

    def synthesize(self, text: str) -> np.ndarray:
        import torch

        inputs = self.processor(text=text, return_tensors="pt")
        with torch.no_grad():
            speech = self.tts.generate_speech(
                inputs["input_ids"],
                self.speaker,
                vocoder=self.vocoder,
                minlenratio=LENRATIO,
                maxlenratio=LENRATIO,
            )
        samples = speech.numpy()
        peak = float(np.abs(samples).max())
        return samples * np.float32(PEAK / peak) if peak > 0 else samples

    def recognize(self, samples: np.ndarray, which: int = 0) -> str:
        return self.asr[which]({"raw": samples, "sampling_rate": 16_000})["text"]


# --- timing ---------------------------------------------------------------------------------
def side_by_side(
    lab_fn: Callable[[], Any], base_fn: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """Median seconds of each, warmed up once, alternating so machine noise hits both: the side
    that goes first changes every repeat (lab, base, base, lab, ...), so neither always runs on
    the caches and clock the other left behind."""
    lab_fn()
    base_fn()
    lab_times: list[float] = []
    base_times: list[float] = []
    for i in range(repeats):
        pair = ((lab_fn, lab_times), (base_fn, base_times))
        for fn, times in pair if i % 2 == 0 else pair[::-1]:
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    return statistics.median(lab_times), statistics.median(base_times)


def noise_clip(seconds: float) -> Any:
    from lab.audio import Audio

    rng = np.random.default_rng(SEED)
    return Audio((0.1 * rng.standard_normal(int(seconds * 16_000))).astype(np.float32), 16_000)


# --- the figures ----------------------------------------------------------------------------
def measure_single_items(models: Models, settings: Settings, baseline: Baseline) -> list[Row]:
    import lab
    from lab.models import get_recognizer

    rec_path = str(models.recognizers[0])
    recognizer = get_recognizer(rec_path)
    synth = lab_synthesizer(models)
    voice = benchmark_voice()
    clip = noise_clip(settings.clip_s)
    rows = []

    lab_s, base_s = side_by_side(
        lambda: recognizer.recognize(clip),
        lambda: baseline.recognize(clip.samples),
        settings.repeats,
    )
    rows.append(
        Row(
            "recognition_rtf",
            f"recognition real-time factor, {settings.clip_s:g} s clip",
            'transformers.pipeline("automatic-speech-recognition"), same model',
            "× real time",
            lab_s / settings.clip_s,
            base_s / settings.clip_s,
            "<= 1.0",
            "lab also returns CTC emissions and aligned char/word segments",
        )
    )

    audio_s = synth.synthesize(SENTENCE, voice).audio.duration_s
    lab_s, base_s = side_by_side(
        lambda: synth.synthesize(SENTENCE, voice),
        lambda: baseline.synthesize(SENTENCE),
        settings.repeats,
    )
    rows.append(
        Row(
            "synthesis_rtf",
            f"synthesis real-time factor, one sentence ({audio_s:.1f} s of audio)",
            "SpeechT5 generate_speech + HiFi-GAN vocoder",
            "× real time",
            lab_s / audio_s,
            base_s / audio_s,
            "<= 1.0",
            "lab also keeps mel, cross-attention and stop probabilities",
        )
    )

    def lab_roundtrip() -> Any:
        lab.clear_cache()
        return lab.roundtrip(SENTENCE, synth, rec_path, voice=voice)

    def base_roundtrip() -> str:
        return baseline.recognize(baseline.synthesize(SENTENCE))

    lab_s, base_s = side_by_side(lab_roundtrip, base_roundtrip, settings.repeats)
    full_roundtrip_s = base_s
    rows.append(
        Row(
            "roundtrip_s",
            "round trip latency, one sentence",
            "the two pipelines in sequence",
            "s",
            lab_s,
            base_s,
            "<= 1.0",
            "lab also scores WER/CER/BLEU/chrF with the word alignment",
        )
    )

    lab.roundtrip(SENTENCE, synth, rec_path, voice=voice)  # synthesis now cached
    snrs = iter(np.linspace(20, 0, 1000))
    lab_s, _ = side_by_side(
        lambda: lab.roundtrip(SENTENCE, synth, rec_path, voice=voice, snr_db=float(next(snrs))),
        lambda: None,
        settings.repeats,
    )
    rows.append(
        Row(
            "slider_move_s",
            "SNR slider move (recognise again, no re-synthesis)",
            "a full round trip (the two pipelines in sequence)",
            "s",
            lab_s,
            full_roundtrip_s,
            "<= 0.35",
        )
    )
    rows.append(measure_int8(recognizer, clip, settings))
    return rows


def measure_int8(recognizer: Any, clip: Any, settings: Settings) -> Row:
    """Dynamic int8 quantisation of the recogniser's Linear layers, against float32."""
    import copy
    import warnings

    import torch

    float_model = recognizer.model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its move to torchao
        quantized = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(float_model), {torch.nn.Linear}, dtype=torch.qint8
        )
    inputs = recognizer._inputs(clip.samples)

    def run(model: Any) -> Any:
        with torch.inference_mode():
            return model(**inputs).logits[0]

    q_s, f_s = side_by_side(lambda: run(quantized), lambda: run(float_model), settings.repeats)
    q_logits, f_logits = run(quantized), run(float_model)
    agreement = float((q_logits.argmax(-1) == f_logits.argmax(-1)).float().mean())
    max_diff = float((q_logits - f_logits).abs().max())
    return Row(
        "int8_recognition_s",
        f"recognition forward, dynamic int8 Linear layers, {settings.clip_s:g} s clip",
        "the same model in float32",
        "s",
        q_s,
        f_s,
        "<= 1.0",
        f"frame argmax agreement {agreement:.1%}, max |Δlogit| {max_diff:.3g}; "
        "not used by the lab (measured only)",
    )


def measure_sweep(models: Models, settings: Settings, baseline: Baseline) -> list[Row]:
    from lab.noise import add_noise
    from lab.roundtrip import clear_cache
    from lab.sweep import run_sweep

    recognizers = [str(p) for p in models.recognizers[: settings.sweep_recognizers]]
    sentences = settings.sweep_sentences
    snrs = settings.sweep_snrs
    jobs = len(sentences) * len(snrs) * len(recognizers)
    synth = lab_synthesizer(models)
    voice = benchmark_voice()

    def plain_loop() -> None:
        from lab.audio import Audio

        for text in sentences:
            speech = Audio(baseline.synthesize(text), 16_000)
            for snr in snrs:
                heard = speech if snr is None else add_noise(speech, snr, "white", SEED)
                for which in range(len(recognizers)):
                    baseline.recognize(heard.samples, which)

    def sweep(pool: str) -> Callable[[], None]:
        def go() -> None:
            clear_cache()
            rows = list(run_sweep(sentences, recognizers, snrs, synthesizer=synth, voice=voice,
                                  seed=SEED, pool=pool))  # fmt: skip
            assert len(rows) == jobs

        return go

    def sweep_here() -> None:
        clear_cache()
        rows = list(run_sweep(sentences, recognizers, snrs, synthesizer=synth, voice=voice,
                              seed=SEED, workers=1))  # fmt: skip
        assert len(rows) == jobs

    def timed(fn: Callable[[], None]) -> float:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    from lab.sweep import start_workers, stop_workers

    # the plain loop before and after the lab's runs, so machine load drifts hit both sides
    base_times = [timed(plain_loop)]
    cold_s = timed(sweep("process"))  # starts its own workers, loads models, stops them
    start_workers(recognizers)  # what a session's first sweep leaves behind with keep_workers
    try:
        lab_s = timed(sweep("process"))
    finally:
        stop_workers()
    in_process_s = timed(sweep_here)
    base_times.append(timed(plain_loop))
    base_s = statistics.mean(base_times)
    cores = os.cpu_count() or 1
    shape = f"{len(sentences)} sentences × {len(snrs)} SNRs × {len(recognizers)} recognisers"
    # report the faster way of running it here; the note gives the others
    here_wins = in_process_s < lab_s
    best_s = in_process_s if here_wins else lab_s
    other = (
        f"warm process pool: {jobs * 60 / lab_s:.1f} jobs/min (ratio {base_s / lab_s:.2f})"
        if here_wins
        else f"in this process (workers=1): {jobs * 60 / in_process_s:.1f} jobs/min "
        f"(ratio {base_s / in_process_s:.2f})"
    )
    rows = [
        Row(
            "sweep_jobs_per_min",
            f"sweep throughput ({shape}), "
            + ("in this process (workers=1)" if here_wins else "warm process pool"),
            "a plain Python loop over the pipelines (one synthesis per sentence), models loaded",
            "jobs/min",
            jobs * 60 / best_s,
            jobs * 60 / base_s,
            ">= 1.5",
            f"{cores} cores; models loaded before timing, as for a session's second sweep "
            f"(workers warmed by start_workers); {other}; cold process pool, starting workers "
            f"and loading models inside the measurement: {jobs * 60 / cold_s:.1f} jobs/min "
            f"(ratio {base_s / cold_s:.2f})",
        ),
    ]
    if settings.compare_pools:
        started = time.perf_counter()
        sweep("thread")()
        thread_s = time.perf_counter() - started
        rows.append(
            Row(
                "sweep_threads_jobs_per_min",
                f"sweep throughput ({shape}), thread pool",
                "the same plain loop",
                "jobs/min",
                jobs * 60 / thread_s,
                jobs * 60 / base_s,
                ">= 1.5",
                "pool='thread': models shared in this process, torch threads not divided",
            )
        )
    return rows


def measure_payload(models: Models) -> Row:
    """Bytes the widgets send for one RoundTripLab run, against plotly heatmaps of the same
    arrays at full resolution (plus the same audio as WAV)."""
    import plotly.graph_objects as go

    from lab.models import get_recognizer
    from lab.roundtrip import clear_cache
    from widgets._common import measure_wire, payload_bytes
    from widgets.roundtrip_lab import RoundTripLab

    voice_path = Path(tempfile.mkdtemp(prefix="speechlab-voice-")) / "benchmark.npy"
    np.save(voice_path, benchmark_voice().xvector)
    rec_path = str(models.recognizers[0])
    get_recognizer(rec_path)
    clear_cache()
    view = RoundTripLab(SENTENCE, [lab_synthesizer(models)], [rec_path], [str(voice_path)])
    with measure_wire() as meter:
        result = view.run()
    assert result is not None, view.status.value
    arrays = [result.synthesis.mel, result.recognition.emissions]
    if result.synthesis.cross_attention is not None:
        arrays.append(result.synthesis.cross_attention[0].mean(axis=0))
    naive = sum(payload_bytes(go.Figure(go.Heatmap(z=a))) for a in arrays if a is not None)
    naive += len(result.synthesis.audio.to_wav_bytes()) + len(result.audio.to_wav_bytes())
    return Row(
        "payload_bytes",
        "bytes sent to the browser for one RoundTripLab run",
        "plotly heatmaps of full-resolution mel, emissions and cross-attention, audio as WAV",
        "bytes",
        float(meter.total_bytes),
        float(naive),
        "<= 0.1",
        f"{meter.messages} widget messages",
    )


def measure_memory_and_load(models: Models, repeats: int) -> list[Row]:
    """Each side in its own fresh interpreter: load the models, do one round trip, report the
    load time and the peak resident memory."""
    results: dict[str, list[dict[str, float]]] = {"lab": [], "baseline": []}
    spec = json.dumps(
        {"speecht5": str(models.speecht5), "hifigan": str(models.hifigan),
         "recognizer": str(models.recognizers[0])}
    )  # fmt: skip
    for _ in range(repeats):
        for side in ("baseline", "lab"):
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.run", "--child", side, "--spec", spec],
                capture_output=True,
                text=True,
                check=True,
                cwd=Path(__file__).resolve().parent.parent,
            )
            results[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
    lab_mem = min(r["peak_mb"] for r in results["lab"])
    base_mem = min(r["peak_mb"] for r in results["baseline"])
    lab_load = statistics.median(r["load_s"] for r in results["lab"])
    base_load = statistics.median(r["load_s"] for r in results["baseline"])
    return [
        Row(
            "peak_memory_mb",
            "peak memory, SpeechT5 + HiFi-GAN + recogniser loaded, one round trip",
            "the same models loaded by the pipelines, one round trip",
            "MB (peak RSS)",
            lab_mem,
            base_mem,
            "<= 1.0",
            "each side in a fresh subprocess",
        ),
        Row(
            "model_load_s",
            "model load time (SpeechT5 + HiFi-GAN + recogniser)",
            "from_pretrained defaults / pipeline()",
            "s",
            lab_load,
            base_load,
            "<= 1.0",
            "each side in a fresh subprocess, imports not counted",
        ),
    ]


def child(side: str, spec_json: str) -> None:
    spec = json.loads(spec_json)
    models = Models(Path(spec["speecht5"]), Path(spec["hifigan"]), (Path(spec["recognizer"]),), "")
    import torch  # noqa: F401  imports are not load time
    import transformers  # noqa: F401

    import lab
    from lab.models import get_recognizer

    started = time.perf_counter()
    if side == "lab":
        synth = lab_synthesizer(models)
        get_recognizer(str(models.recognizers[0]))
        load_s = time.perf_counter() - started
        lab.roundtrip(SENTENCE, synth, str(models.recognizers[0]), voice=benchmark_voice())
    else:
        baseline = Baseline(models)
        load_s = time.perf_counter() - started
        baseline.recognize(baseline.synthesize(SENTENCE))
    print(json.dumps({"load_s": load_s, "peak_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """Peak resident memory of this process image. ru_maxrss would carry the parent's peak
    across fork + exec on Linux, so VmHWM (fresh after exec) is read where it exists."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- report ---------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    import torch
    import transformers

    return {
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "not measured"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def to_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"Measured {report['created']} on {m['cores']} CPU cores ({m['platform']}; torch "
        f"{m['torch']}, transformers {m['transformers']}); models: {report['models']}"
        f"{' (quick run)' if report['quick'] else ''}.",
        "",
        "| figure | lab | baseline | unit | ratio | target | met | baseline does | note |",
        "| --- | ---: | ---: | --- | ---: | --- | --- | --- | --- |",
    ]
    for r in report["rows"]:
        met = {True: "met", False: "not met", None: "–"}[r["met"]]
        lines.append(
            f"| {r['figure']} | {_fmt(r['lab'])} | {_fmt(r['baseline_value'])} | {r['unit']} | "
            f"{_fmt(r['ratio'])} | ratio {r['target'].replace('<=', '≤').replace('>=', '≥')} | "
            f"{met} | {r['baseline']} | {r['note']} |"
        )
    return "\n".join(lines) + "\n"


def update_readme(markdown: str, readme: Path = README) -> None:
    """Put a full run's table into the README between its two marker comments."""
    text = readme.read_text()
    start, end = text.index(README_START), text.index(README_END)
    readme.write_text(text[: start + len(README_START)] + "\n" + markdown + text[end:])


def run(quick: bool, models: Models, out: Path, compare_pools: bool = False) -> dict[str, Any]:
    import dataclasses

    settings = dataclasses.replace(QUICK if quick else FULL, compare_pools=compare_pools)
    rows: list[Row] = []
    baseline = Baseline(models, recognizers=settings.sweep_recognizers)
    print("single items…", file=sys.stderr)
    rows += measure_single_items(models, settings, baseline)
    for row in rows:
        print(json.dumps(row.to_dict()), file=sys.stderr)
    print("sweep…", file=sys.stderr)
    rows += measure_sweep(models, settings, baseline)
    del baseline
    try:
        rows.append(measure_payload(models))
    except Exception as exc:  # a widget still being written must not lose the other figures
        rows.append(
            Row("payload_bytes", "bytes sent to the browser for one RoundTripLab run",
                "plotly heatmaps of full-resolution arrays", "bytes", None, None, "<= 0.1",
                f"not measured: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        )  # fmt: skip
    for row in rows:
        print(json.dumps(row.to_dict()), file=sys.stderr)
    print("memory and load time…", file=sys.stderr)
    rows += measure_memory_and_load(models, repeats=1 if quick else 2)
    report = {
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "quick": quick,
        "models": models.kind,
        "machine": machine(),
        "rows": [r.to_dict() for r in rows],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "latest.md").write_text(to_markdown(report))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--tiny", action="store_true", help="tiny random models (tests)")
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="where the random-weight checkpoints are built and reused",
    )
    parser.add_argument(
        "--compare-pools", action="store_true", help="also time the sweep on a thread pool"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for latest.json/.md")
    parser.add_argument("--child", choices=("lab", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)  # fmt: skip
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.child:
        child(args.child, args.spec)
        return 0
    default_dir = Path(tempfile.gettempdir()) / (
        "speechlab-benchmark-tiny" if args.tiny else "speechlab-benchmark-models"
    )
    folder = args.models_dir or default_dir
    models = tiny_models(folder) if args.tiny else full_size_models(folder)
    report = run(args.quick, models, args.out, compare_pools=args.compare_pools)
    if not (args.quick or args.tiny) and args.out == RESULTS:
        update_readme(to_markdown(report))
    print(to_markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
