"""``speechlab``: round trips, synthesis, recognition and model downloads from a terminal.

Results go to stdout; progress and notices go to stderr, so ``speechlab ... > out.txt`` keeps only
results. An error the lab raises on purpose prints one line, ``speechlab: error: ...``, and exits
with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab.errors import LabError

PROG = "speechlab"
EXIT_ERROR = 2


def _say(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def _pick_models(args: argparse.Namespace, need_synth: bool, need_rec: bool) -> tuple[Any, Any]:
    from lab import models

    tts = getattr(args, "tts", None)
    asr = getattr(args, "asr", None)
    if (need_synth and tts is None) or (need_rec and asr is None):
        default_tts, default_asr, notice = models.default_pair()
        tts = tts or default_tts
        asr = asr or default_asr
        if notice:
            _say(args, notice)
    synth = rec = None
    if need_synth:
        _say(args, f"Loading {tts}…")
        synth = models.get_synthesizer(tts)
    if need_rec:
        _say(args, f"Loading {asr}…")
        rec = models.get_recognizer(asr)
    return synth, rec


def _untrained_line(*parts: Any) -> str | None:
    names = [p.name for p in parts if p is not None and getattr(p, "untrained", False)]
    if not names:
        return None
    return f"UNTRAINED (random weights): {', '.join(names)}; the output says nothing about speech."


# --- commands --------------------------------------------------------------------------------
def _cmd_roundtrip(args: argparse.Namespace) -> int:
    from lab.roundtrip import roundtrip

    synth, rec = _pick_models(args, need_synth=True, need_rec=True)
    result = roundtrip(
        args.text,
        synthesizer=synth,
        recognizer=rec,
        snr_db=args.snr,
        noise=args.noise,
        seed=args.seed,
        voice=args.voice,
        progress=lambda message: _say(args, message),
    )
    scores = result.scores
    if args.json:
        summary = {
            "text": result.text,
            "transcript": result.recognition.text,
            "synthesizer": result.synthesis.model,
            "recognizer": result.recognition.model,
            "snr_db": result.snr_db,
            "noise": result.noise,
            "seed": result.seed,
            "wer": scores.wer,
            "cer": scores.cer,
            "bleu": scores.bleu,
            "chrf": scores.chrf,
            "untrained": result.untrained,
            "timings": result.timings,
        }
        print(json.dumps(summary))
    else:
        noise = (
            "clean"
            if result.snr_db is None
            else f"{result.noise} noise at {result.snr_db:g} dB SNR"
        )
        print(
            f"{result.synthesis.model} → {result.recognition.model} ({noise}, seed {result.seed})"
        )
        print(f"text:       {result.text}")
        print(f"transcript: {result.recognition.text}")
        print(
            f"WER {scores.wer:.3f}  CER {scores.cer:.3f}  BLEU {scores.bleu:.1f}  "
            f"chrF {scores.chrf:.1f}  (hits {scores.hits}, substitutions {scores.substitutions}, "
            f"deletions {scores.deletions}, insertions {scores.insertions})"
        )
        timings = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in result.timings.items())
        audio = result.synthesis.audio
        print(f"audio:      {audio.duration_s:.2f} s at {audio.sample_rate} Hz")
        print(f"timings:    {timings}")
        warning = _untrained_line(synth, rec)
        if warning:
            print(warning)
    if args.out:
        folder = result.save(args.out)
        _say(args, f"Saved {folder / 'roundtrip.json'}, synthesized.wav and heard.wav")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    synth, _ = _pick_models(args, need_synth=True, need_rec=False)
    _say(args, f"Synthesising with {synth.name}…")
    synthesis = synth.synthesize(args.text, voice=args.voice)
    path = synthesis.audio.save(args.output)
    audio = synthesis.audio
    print(
        f"{path}: {audio.duration_s:.2f} s at {audio.sample_rate} Hz from {synthesis.model}"
        + (f" (voice {synthesis.voice})" if synthesis.voice else "")
        + f" in {synthesis.elapsed_s:.2f} s"
    )
    warning = _untrained_line(synth)
    if warning:
        print(warning)
    return 0


def _cmd_recognize(args: argparse.Namespace) -> int:
    from lab.audio import Audio

    audio = Audio.load(args.file)
    _, rec = _pick_models(args, need_synth=False, need_rec=True)
    _say(args, f"Recognising {audio.duration_s:.2f} s with {rec.name}…")
    recognition = rec.recognize(audio)
    if args.json:
        words = [
            {"text": w.text, "start_s": w.start_s, "end_s": w.end_s, "score": _json_float(w.score)}
            for w in recognition.words
        ]
        print(
            json.dumps(
                {
                    "transcript": recognition.text,
                    "recognizer": recognition.model,
                    "untrained": recognition.untrained,
                    "elapsed_s": recognition.elapsed_s,
                    "words": words,
                }
            )
        )
        return 0
    print(recognition.text)
    if args.words:
        for w in recognition.words:
            score = "" if w.score != w.score else f"  p={w.score:.2f}"
            print(f"{w.start_s:7.2f} {w.end_s:7.2f}  {w.text}{score}")
    warning = _untrained_line(rec)
    if warning:
        print(warning)
    return 0


def _json_float(value: float) -> float | None:
    return None if value != value else value


def _cmd_models(args: argparse.Namespace) -> int:
    from lab import models

    if args.action == "download":
        if not args.names:
            raise LabError(
                "Name the models to download, e.g. `speechlab models download speecht5 "
                "wav2vec2-base-960h`."
            )
        for name in args.names:
            folders = models.download(name, progress=lambda message: _say(args, message))
            where = ", ".join(str(f) for f in folders) or "bundled with the lab"
            print(f"{name}: {where}")
        return 0
    if args.names:
        raise LabError(f"`speechlab models {args.action}` takes no names; did you mean download?")
    listed = models.list_models()
    width = max(len(m.name) for m in listed)
    print(f"{'name':<{width}}  {'kind':<17}  {'size':>7}  {'here':<7}  source")
    for m in listed:
        here = "bundled" if m.bundled else ("cached" if m.cached else "-")
        source = ", ".join(m.hub_ids) if m.hub_ids else "Python package"
        print(f"{m.name:<{width}}  {m.kind:<17}  {m.size:>7}  {here:<7}  {source}")
    print(f"Hugging Face cache: {models.cache_dir()}")
    allowed = models.get_allowlist()
    if allowed is not None:
        print(f"Allowed here: {', '.join(sorted(allowed))}")
    return 0


def _cmd_service(args: argparse.Namespace) -> int:
    from lab import service

    addr = f"tcp://127.0.0.1:{args.port}"
    preload = [n.strip() for n in (args.preload or "").split(",") if n.strip()]
    options: dict[str, Any] = {
        "threads": args.threads,
        "budget_mb": args.budget_mb,
        "preload": preload,
        "separate_worker": not args.in_process,
    }
    if args.action == "serve":
        service.serve(args.port, **options)
        return 0
    if args.action == "start":
        if service.running(addr):
            print(f"model service already running at {addr}")
            return 0
        _say(args, f"Starting the model service on {addr}…")
        service.start(args.port, **options)
        print(f"model service at {addr}; kernels use it with {service.SERVICE_ENV}={addr}")
        return 0
    if args.action == "stop":
        stopped = service.stop(addr)
        print(f"model service at {addr} stopped" if stopped else f"nothing answers at {addr}")
        return 0
    if not service.running(addr):
        raise LabError(
            f"No model service answers at {addr}: start it with `speechlab service start`."
        )
    service.use(addr)
    state = service.status()
    budget = f"{state['budget_mb']:.0f} MB" if state["budget_mb"] else "no limit"
    print(f"model service at {addr} (worker pid {state['pid']}, budget {budget})")
    for model in state["loaded"]:
        print(f"  {model['key']}: {model['size_mb']:.0f} MB, used {model['uses']} times")
    print(
        f"  {state['recognitions']} recognitions in {state['forward_passes']} passes, "
        f"{state['syntheses']} syntheses, {state['evictions']} models evicted"
    )
    return 0


# --- parser ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Synthesise text, recognise it back, and measure what changed.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def tts_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--tts",
            metavar="NAME",
            help="synthesizer: speecht5, piper, a hub id, or a folder "
            "(default: speecht5 when cached, else piper)",
        )
        p.add_argument("--voice", metavar="V", help="speaker voice name or .npy x-vector file")

    def asr_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--asr",
            metavar="NAME",
            help="recognizer: wav2vec2-base-960h, hubert-large-ls960-ft, pocketsphinx, a hub id, "
            "or a folder (default: wav2vec2-base-960h when cached, else pocketsphinx)",
        )

    rt = commands.add_parser("roundtrip", help="synthesise, optionally add noise, recognise, score")
    rt.add_argument("text")
    tts_option(rt)
    asr_option(rt)
    rt.add_argument("--snr", type=float, metavar="DB", help="add noise at this SNR in dB")
    rt.add_argument("--noise", default="white", help="noise colour: white or pink")
    rt.add_argument("--seed", type=int, default=0, help="noise seed")
    rt.add_argument("--out", type=Path, metavar="DIR", help="write roundtrip.json and WAVs here")
    rt.add_argument("--json", action="store_true", help="print one JSON summary line")
    rt.set_defaults(run=_cmd_roundtrip)

    synth = commands.add_parser("synth", help="synthesise text to a WAV file")
    synth.add_argument("text")
    synth.add_argument("-o", "--output", type=Path, default=Path("speech.wav"), metavar="WAV")
    tts_option(synth)
    synth.set_defaults(run=_cmd_synth)

    rec = commands.add_parser("recognize", help="transcribe an audio file")
    rec.add_argument("file", type=Path)
    asr_option(rec)
    rec.add_argument("--words", action="store_true", help="also print each word with its times")
    rec.add_argument("--json", action="store_true", help="print the result as JSON")
    rec.set_defaults(run=_cmd_recognize)

    mdl = commands.add_parser("models", help="list known models, or download some")
    mdl.add_argument("action", nargs="?", choices=("list", "download"), default="list")
    mdl.add_argument("names", nargs="*", metavar="NAME")
    mdl.set_defaults(run=_cmd_models)

    svc = commands.add_parser(
        "service", help="the shared model service: start, stop, status (or serve in the foreground)"
    )
    svc.add_argument("action", choices=("start", "stop", "status", "serve"))
    svc.add_argument("--port", type=int, default=8787, help="scheduler port on 127.0.0.1")
    svc.add_argument("--threads", type=int, default=32, help="requests served at once")
    svc.add_argument(
        "--budget-mb", type=float, metavar="MB", help="model weights kept loaded (LRU beyond)"
    )
    svc.add_argument(
        "--preload",
        metavar="NAMES",
        help="comma-separated models to load at start ('default': the pair dashboards open with)",
    )
    svc.add_argument(
        "--in-process",
        action="store_true",
        help="worker inside the scheduler's process (less memory)",
    )
    svc.set_defaults(run=_cmd_service)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse usage errors exit with 2 too)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except LabError as exc:
        message = " ".join(str(exc).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
