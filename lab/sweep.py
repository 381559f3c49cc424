"""Sweeps: many sentences × noise levels × recognisers, run in parallel, rows streamed back.

Each sentence is synthesised once (through :func:`lab.synthesize`, so its cache is shared with
notebooks and widgets); then every (sentence, SNR, recogniser) job degrades that audio, recognises
it and scores it, exactly as :func:`lab.roundtrip` would. Jobs run

* locally on a process pool, one worker per core, each worker loading every model it needs once
  (PocketSphinx holds the GIL while it decodes, so threads do not run it in parallel; torch models
  get ``cores // workers`` intra-op threads per worker so the cores are not oversubscribed).
  :func:`start_workers` (or ``keep_workers=True``) keeps warm workers for later sweeps, so a
  second sweep in a session pays no process start-up, imports or model loading;
* or on a dask cluster when a ``distributed.Client`` is given: ``client.submit`` per job,
  ``as_completed`` to stream rows back, models cached per worker process.

The SNR copies of one sentence have the same length, so one job hears them all in one forward
pass of a CTC recogniser (``recognize_batch``: the same transcripts as one by one).
Models travel to workers as names or folder paths, never as pickled weights. Rows arrive in order
of completion; each one says where it belongs (``sentence_index``, ``recognizer``, ``snr_db``).
"""

from __future__ import annotations

import atexit
import csv
import io
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from lab.audio import Audio
from lab.errors import LabError
from lab.text import check_text

Progress = Callable[[int, int, "SweepRow"], None]
"""Called after each row with (rows done, rows in all, the row)."""

ModelName = str | Path


@dataclass(frozen=True)
class SweepRow:
    """One (sentence, noise level, recogniser) result of a sweep."""

    sentence_index: int
    """Position of the sentence in the list given to :func:`run_sweep`."""
    text: str
    recognizer: str
    snr_db: float | None
    """Signal-to-noise ratio in dB; None means clean audio."""
    noise: str
    seed: int
    hypothesis: str
    """What the recogniser heard, as it wrote it."""
    wer: float
    cer: float
    bleu: float
    """Sentence BLEU, 0-100."""
    chrf: float
    """chrF, 0-100."""
    seconds: float = field(compare=False)
    """Time spent degrading, recognising and scoring this job (synthesis is shared, not counted).
    Left out of ``==`` so that two runs of the same sweep compare equal."""
    untrained: bool = False
    """True when a random-weight model took part: such scores say nothing about speech."""

    @property
    def key(self) -> tuple[int, str, float]:
        """Sort key: sentence, recogniser, then clean first and falling SNR."""
        return (
            self.sentence_index,
            self.recognizer,
            -math.inf if self.snr_db is None else -self.snr_db,
        )


# --- the work one job does, wherever it runs ----------------------------------------------------
_torch_threads: int | None = None
_threads_lock = threading.Lock()


def _init_worker(torch_threads: int | None) -> None:
    global _torch_threads
    _torch_threads = torch_threads


def _apply_torch_threads(torch_threads: int | None) -> None:
    # only where a torch model was loaded: importing torch for PocketSphinx would cost a second
    if torch_threads is None or "torch" not in sys.modules:
        return
    import torch

    with _threads_lock:
        if torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)


def recognize_job(
    audio: Audio,
    text: str,
    sentence_index: int,
    recognizer: str,
    snr_db: float | None,
    noise: str,
    seed: int,
    torch_threads: int | None = None,
    synthesis_untrained: bool = False,
) -> SweepRow:
    """Degrade ``audio``, recognise it with the named recogniser (loaded once per process) and
    score it against ``text``: :func:`recognize_snrs_job` with one SNR. Runs in pool workers and
    on dask workers alike."""
    return recognize_snrs_job(
        audio,
        text,
        sentence_index,
        recognizer,
        [snr_db],
        noise,
        seed,
        torch_threads,
        synthesis_untrained,
    )[0]


def recognize_snrs_job(
    audio: Audio,
    text: str,
    sentence_index: int,
    recognizer: str,
    snrs: Sequence[float | None],
    noise: str,
    seed: int,
    torch_threads: int | None = None,
    synthesis_untrained: bool = False,
) -> list[SweepRow]:
    """Every SNR of one (sentence, recogniser): the noisy copies have the same length, so a
    recogniser with ``recognize_batch`` hears them in one forward pass (the same transcripts as
    one by one); others hear them one by one. Rows come back in the order of ``snrs``."""
    from lab.metrics import score
    from lab.roundtrip import degrade, resolve_recognizer

    rec = resolve_recognizer(recognizer)
    _apply_torch_threads(torch_threads if torch_threads is not None else _torch_threads)
    started = time.perf_counter()
    heard = [degrade(audio, snr_db, noise, seed) for snr_db in snrs]
    batch = getattr(rec, "recognize_batch", None)
    recognitions = batch(heard) if batch is not None else [rec.recognize(h) for h in heard]
    rows = []
    for snr_db, recognition in zip(snrs, recognitions, strict=True):
        scores = score(text, recognition)
        rows.append(
            SweepRow(
                sentence_index=sentence_index,
                text=text,
                recognizer=recognizer,
                snr_db=snr_db,
                noise=noise,
                seed=seed,
                hypothesis=recognition.text,
                wer=scores.wer,
                cer=scores.cer,
                bleu=scores.bleu,
                chrf=scores.chrf,
                seconds=0.0,
                untrained=bool(recognition.untrained or synthesis_untrained),
            )
        )
    # the copies shared one pass: each row is charged an equal share of it
    share = (time.perf_counter() - started) / len(rows)
    return [replace(row, seconds=share) for row in rows]


def _warm_worker(recognizers: Sequence[str], torch_threads: int | None) -> int:
    """Load every recogniser in this worker and run one short clip through each, so that the
    first real job pays neither loading nor first-call set-up; returns the worker's pid."""
    import numpy as np

    from lab.roundtrip import resolve_recognizer

    clip = Audio(np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1,
                 16_000)  # fmt: skip
    for name in recognizers:
        rec = resolve_recognizer(name)
        _apply_torch_threads(torch_threads if torch_threads is not None else _torch_threads)
        rec.recognize(clip)
    time.sleep(0.2)  # let the other workers take their own warm-up job
    return os.getpid()


def synthesize_job(text: str, synthesizer: str | None, voice: Any = None) -> tuple[Audio, bool]:
    """Synthesise on a worker (cached per process); returns the audio and whether it is untrained."""
    from lab.roundtrip import synthesize

    synthesis = synthesize(text, synthesizer, voice)
    return synthesis.audio, synthesis.untrained


# --- the sweep ------------------------------------------------------------------------------------
def run_sweep(
    sentences: Sequence[str] | str,
    recognizers: Sequence[ModelName] | ModelName,
    snrs: Sequence[float | None],
    *,
    synthesizer: ModelName | Any | None = None,
    voice: Any = None,
    noise: str = "white",
    seed: int = 0,
    client: Any = None,
    workers: int | None = None,
    pool: Literal["process", "thread"] = "process",
    synthesize_on: Literal["here", "workers"] = "here",
    progress: Progress | bool | None = None,
    keep_workers: bool = False,
) -> Iterator[SweepRow]:
    """Round-trip every sentence at every SNR through every recogniser; yield rows as they finish.

    ``recognizers``: registry names, hub ids or local folders (strings or paths). ``snrs``: dB
    values, None for clean audio. ``voice``: passed to the synthesizer. ``seed`` seeds the noise
    of every job, as in :func:`lab.roundtrip`, so each row equals
    ``lab.roundtrip(text, synthesizer, recognizer, snr_db=..., seed=seed)``.

    Locally (no ``client``): ``workers`` processes (default: one per core; 1 runs in this process),
    or threads with ``pool="thread"``. On two cores, neural recognisers run faster in this
    process (``workers=1``, torch on both cores) than on two one-thread workers, warm or not;
    PocketSphinx, which holds the GIL, gains from processes. With a dask ``client`` the jobs run on its workers.
    ``synthesize_on="workers"`` (dask only) also spreads synthesis over the cluster; a voice that
    samples noise (Piper) then gives slightly different audio than a synthesis made here.
    ``progress``: True shows a text progress bar; a callable gets (done, total, row).
    ``keep_workers``: leave the worker processes running, models loaded, for later sweeps (as
    :func:`start_workers` does; :func:`stop_workers` ends them). Warm workers started that way
    are reused by any local process sweep with the same ``workers``.
    """
    sentence_list = [
        check_text(s) for s in ([sentences] if isinstance(sentences, str) else sentences)
    ]
    recognizer_names = _model_names(recognizers)
    snr_list = _check_snrs(snrs)
    if not sentence_list:
        raise LabError("The sweep has no sentences: give at least one.")
    if synthesize_on not in ("here", "workers"):
        raise LabError(f"synthesize_on must be 'here' or 'workers', not {synthesize_on!r}.")
    if synthesize_on == "workers" and client is None:
        raise LabError("synthesize_on='workers' needs a dask client: pass client=Client(...).")
    from lab.noise import SNR_NOISES

    if noise not in SNR_NOISES:
        raise LabError(f"Unknown noise kind {noise!r}: choose one of {', '.join(SNR_NOISES)}.")
    total = len(sentence_list) * len(recognizer_names) * len(snr_list)
    report = _progress(progress, total)
    if client is not None:
        if synthesize_on == "workers" and not isinstance(synthesizer, (str, Path, type(None))):
            raise TypeError(
                "With synthesize_on='workers' pass the synthesizer as a name or folder: each "
                "worker loads its own copy."
            )
        rows = _run_dask(
            client, sentence_list, recognizer_names, snr_list, synthesizer, voice, noise, seed,
            synthesize_on,
        )  # fmt: skip
    else:
        rows = _run_local(
            sentence_list, recognizer_names, snr_list, synthesizer, voice, noise, seed, workers,
            pool, keep_workers,
        )  # fmt: skip
    try:
        for row in rows:
            report(row)
            yield row
    finally:
        rows.close()
        report(None)


def _model_names(recognizers: Sequence[ModelName] | ModelName) -> list[str]:
    items = [recognizers] if isinstance(recognizers, (str, Path)) else list(recognizers)
    if not items:
        raise LabError("The sweep has no recognisers: give at least one name or folder.")
    names = []
    for item in items:
        if not isinstance(item, (str, Path)):
            raise TypeError(
                f"Pass recognisers as names or folders, not {type(item).__name__} objects: each "
                "worker loads its own copy."
            )
        names.append(str(item))
    return names


def _check_snrs(snrs: Sequence[float | None]) -> list[float | None]:
    values = list(snrs)
    if not values:
        raise LabError("The sweep has no SNR values: give e.g. [None, 10, 0] (None = clean).")
    for value in values:
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise LabError(f"SNR values must be finite numbers of dB or None, got {value!r}.")
    return [None if v is None else float(v) for v in values]


def _progress(progress: Progress | bool | None, total: int) -> Callable[[SweepRow | None], None]:
    if not progress:
        return lambda row: None
    if progress is True:
        from tqdm import tqdm  # the text bar: lab imports no widget toolkit

        bar = tqdm(total=total, desc="sweep", unit="job")

        def update_bar(row: SweepRow | None) -> None:
            if row is None:
                bar.close()
            else:
                bar.update(1)

        return update_bar
    done = 0
    callback = progress

    def call(row: SweepRow | None) -> None:
        nonlocal done
        if row is not None:
            done += 1
            callback(done, total, row)

    return call


def _jobs(
    sentence_index: int, text: str, recognizers: list[str], snrs: list[float | None]
) -> Iterator[tuple[int, str, str, float | None]]:
    for recognizer in recognizers:
        for snr_db in snrs:
            yield sentence_index, text, recognizer, snr_db


class _Workers:
    """A spawn process pool and what it was started with."""

    def __init__(self, workers: int, torch_threads: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers
        self.torch_threads = torch_threads
        self.warmed: set[str] = set()
        # fork after torch has started its thread pools can hang: start workers clean
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(torch_threads,),
        )

    def warm(self, recognizers: Sequence[str]) -> None:
        missing = [name for name in recognizers if name not in self.warmed]
        if not missing:
            return
        seen: set[int] = set()
        for _ in range(8):  # a worker may take two warm-up jobs while another still starts
            futures = [
                self.executor.submit(_warm_worker, missing, self.torch_threads)
                for _ in range(self.workers)
            ]
            seen.update(future.result() for future in futures)
            if len(seen) >= self.workers:
                break
        self.warmed.update(missing)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


_live_workers: _Workers | None = None
_live_lock = threading.Lock()


def _pool_shape(workers: int | None) -> tuple[int, int]:
    cores = os.cpu_count() or 1
    n_workers = max(1, workers if workers is not None else cores)
    return n_workers, max(1, cores // n_workers)


def start_workers(recognizers: Sequence[ModelName] | ModelName, workers: int | None = None) -> None:
    """Start the sweep's worker processes now and load ``recognizers`` in each of them.

    Later :func:`run_sweep` calls with the same ``workers`` (and no dask client) reuse these
    warm workers instead of starting their own, so they skip process start-up, imports and model
    loading. The workers stay, each holding its own copy of the models in memory, until
    :func:`stop_workers` or the end of this Python session.
    """
    global _live_workers
    names = _model_names(recognizers)
    n_workers, torch_threads = _pool_shape(workers)
    with _live_lock:
        if _live_workers is not None and _live_workers.workers != n_workers:
            _live_workers.shutdown()
            _live_workers = None
        if _live_workers is None:
            _live_workers = _Workers(n_workers, torch_threads)
            atexit.register(stop_workers)
        _live_workers.warm(names)


def stop_workers() -> None:
    """Stop the workers :func:`start_workers` (or ``keep_workers=True``) left running."""
    global _live_workers
    with _live_lock:
        if _live_workers is not None:
            _live_workers.shutdown()
            _live_workers = None


def _run_local(
    sentences: list[str],
    recognizers: list[str],
    snrs: list[float | None],
    synthesizer: Any,
    voice: Any,
    noise: str,
    seed: int,
    workers: int | None,
    pool: str,
    keep_workers: bool,
) -> Generator[SweepRow, None, None]:
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
    from concurrent.futures import wait as wait_futures

    from lab.roundtrip import synthesize

    if pool not in ("process", "thread"):
        raise LabError(f"pool must be 'process' or 'thread', not {pool!r}.")
    n_workers, torch_threads = _pool_shape(workers)
    if n_workers == 1:
        for index, text in enumerate(sentences):
            synthesis = synthesize(text, synthesizer, voice)
            for recognizer in recognizers:
                yield from recognize_snrs_job(
                    synthesis.audio, text, index, recognizer, snrs, noise, seed,
                    synthesis_untrained=synthesis.untrained,
                )  # fmt: skip
        return
    executor: Any
    owned: Any = None
    if pool == "thread":
        executor = owned = ThreadPoolExecutor(max_workers=n_workers)
    else:
        global _live_workers
        with _live_lock:
            live = _live_workers
        if live is not None and live.workers == n_workers:
            executor = live.executor
        elif keep_workers:
            start_workers(recognizers, n_workers)
            assert _live_workers is not None
            executor = _live_workers.executor
        else:
            owned = _Workers(n_workers, torch_threads)
            executor = owned.executor
    pending: set[Future[list[SweepRow]]] = set()
    try:
        # synthesise here, sentence by sentence, while workers recognise what is ready
        for index, text in enumerate(sentences):
            synthesis = synthesize(text, synthesizer, voice)
            for recognizer in recognizers:
                pending.add(
                    executor.submit(
                        recognize_snrs_job, synthesis.audio, text, index, recognizer, snrs,
                        noise, seed, torch_threads, synthesis.untrained,
                    )
                )  # fmt: skip
            finished = {f for f in pending if f.done()}
            pending -= finished
            for future in finished:
                yield from future.result()
        while pending:
            finished, pending = wait_futures(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield from future.result()
    finally:
        for future in pending:
            future.cancel()
        if owned is not None:
            owned.shutdown()


def _run_dask(
    client: Any,
    sentences: list[str],
    recognizers: list[str],
    snrs: list[float | None],
    synthesizer: Any,
    voice: Any,
    noise: str,
    seed: int,
    synthesize_on: str,
) -> Generator[SweepRow, None, None]:
    from distributed import as_completed

    torch_threads = _dask_torch_threads(client)
    futures = []
    try:
        for index, text in enumerate(sentences):
            if synthesize_on == "workers":
                synthesized = client.submit(
                    synthesize_job, text, None if synthesizer is None else str(synthesizer), voice,
                    pure=False,
                )  # fmt: skip
                audio = client.submit(_first, synthesized)
                untrained = client.submit(_second, synthesized)
            else:
                from lab.roundtrip import synthesize

                synthesis = synthesize(text, synthesizer, voice)
                [audio] = client.scatter([synthesis.audio], hash=False)
                untrained = synthesis.untrained
            for job in _jobs(index, text, recognizers, snrs):
                futures.append(
                    client.submit(
                        recognize_job, audio, job[1], job[0], job[2], job[3], noise, seed,
                        torch_threads, untrained, pure=False,
                    )
                )  # fmt: skip
        for future in as_completed(futures):
            yield future.result()
    finally:
        for future in futures:
            future.cancel()


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def _dask_torch_threads(client: Any) -> int:
    """Cores per worker thread on the busiest host, so torch does not oversubscribe a machine."""
    info = client.scheduler_info()["workers"]
    threads_per_host: dict[str, int] = {}
    cores_per_host: dict[str, int] = {}
    cores = client.run(os.cpu_count)
    for address, worker in info.items():
        host = worker.get("host", address)
        threads_per_host[host] = threads_per_host.get(host, 0) + int(worker.get("nthreads", 1))
        cores_per_host[host] = int(cores.get(address) or 1)
    if not threads_per_host:
        return 1
    return max(1, min(cores_per_host[h] // threads_per_host[h] for h in threads_per_host))


# --- tables -----------------------------------------------------------------------------------------
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SweepRow))


def rows_to_csv(rows: Iterable[SweepRow]) -> str:
    """CSV text with a header row; a clean SNR is an empty cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in asdict(row).items()})
    return out.getvalue()


def rows_to_frame(rows: Iterable[SweepRow]) -> Any:
    """A pandas DataFrame, one row per job, sorted by sentence, recogniser and falling SNR."""
    try:
        import pandas as pd
    except ImportError:
        raise LabError(
            "pandas is not installed: run `pip install 'roundtrip-speech-lab[sweep]'`."
        ) from None
    ordered = sorted(rows, key=lambda r: r.key)
    return pd.DataFrame([asdict(r) for r in ordered], columns=list(COLUMNS))


def summarize(rows: Iterable[SweepRow]) -> dict[tuple[str, float | None], dict[str, float]]:
    """Corpus scores per (recogniser, SNR): errors over all words, not a mean of sentence rates.

    Values: ``wer``, ``cer``, ``bleu``, ``chrf`` (from :func:`lab.metrics.corpus_scores`) and
    ``sentences`` (how many rows went in). Keys come clean first, then by falling SNR.
    """
    from lab.metrics import corpus_scores

    groups: dict[tuple[str, float | None], list[SweepRow]] = {}
    for row in sorted(rows, key=lambda r: r.key):
        groups.setdefault((row.recognizer, row.snr_db), []).append(row)
    table: dict[tuple[str, float | None], dict[str, float]] = {}
    for key in sorted(groups, key=lambda k: (k[0], -math.inf if k[1] is None else -k[1])):
        group = groups[key]
        scores = corpus_scores([r.text for r in group], [r.hypothesis for r in group])
        table[key] = {**scores, "sentences": float(len(group))}
    return table
