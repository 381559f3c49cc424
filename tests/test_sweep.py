from __future__ import annotations

import csv
import io
import math
import statistics

import numpy as np
import pytest

import lab
from lab.errors import LabError
from lab.sweep import SweepRow, rows_to_csv, rows_to_frame, run_sweep, summarize

# the bundled offline pair, two short sentences, clean and 0 dB white noise
SENTENCES = (
    "Speech recognition is getting better every year.",
    "The birch canoe slid on the smooth planks.",
)
SNRS = (None, 0.0)


@pytest.fixture(scope="module")
def local_rows() -> list[SweepRow]:
    return list(
        run_sweep(SENTENCES, ["pocketsphinx"], SNRS, synthesizer="piper", seed=3, workers=2)
    )


def test_every_job_comes_back_once(local_rows):
    keys = sorted((r.sentence_index, r.recognizer, r.snr_db is None) for r in local_rows)
    expected = sorted((i, "pocketsphinx", snr is None) for i in range(2) for snr in SNRS)
    assert keys == expected
    for row in local_rows:
        assert row.text == SENTENCES[row.sentence_index]
        assert row.seed == 3 and row.noise == "white"
        assert row.seconds > 0
        assert not row.untrained


def test_local_rows_equal_a_plain_loop_of_roundtrip(local_rows):
    by_key = {(r.sentence_index, r.snr_db): r for r in local_rows}
    for index, text in enumerate(SENTENCES):
        for snr in SNRS:
            rt = lab.roundtrip(text, "piper", "pocketsphinx", snr_db=snr, seed=3)
            row = by_key[(index, snr)]
            assert row.hypothesis == rt.recognition.text
            assert (row.wer, row.cer, row.bleu, row.chrf) == (
                rt.scores.wer,
                rt.scores.cer,
                rt.scores.bleu,
                rt.scores.chrf,
            )


def test_wer_rises_as_noise_drowns_the_speech(local_rows):
    clean = statistics.mean(r.wer for r in local_rows if r.snr_db is None)
    noisy = statistics.mean(r.wer for r in local_rows if r.snr_db == 0.0)
    assert noisy > clean


def test_summary_gives_corpus_scores_per_recognizer_and_snr(local_rows):
    table = summarize(local_rows)
    assert list(table) == [("pocketsphinx", None), ("pocketsphinx", 0.0)]
    assert all(v["sentences"] == 2 for v in table.values())
    # corpus WER weighs sentences by their word count
    clean_rows = [r for r in local_rows if r.snr_db is None]
    words = [len(lab.normalize_for_scoring(r.text).split()) for r in clean_rows]
    weighted = sum(r.wer * n for r, n in zip(clean_rows, words, strict=True)) / sum(words)
    assert table[("pocketsphinx", None)]["wer"] == pytest.approx(weighted)
    assert table[("pocketsphinx", 0.0)]["wer"] > table[("pocketsphinx", None)]["wer"]


def test_csv_and_frame_hold_every_row_in_order(local_rows):
    parsed = list(csv.DictReader(io.StringIO(rows_to_csv(local_rows))))
    assert len(parsed) == len(local_rows)
    assert {p["hypothesis"] for p in parsed} == {r.hypothesis for r in local_rows}
    assert sorted(p["snr_db"] for p in parsed) == ["", "", "0.0", "0.0"]

    frame = rows_to_frame(local_rows)
    assert len(frame) == len(local_rows)
    assert list(frame["sentence_index"]) == [0, 0, 1, 1]
    assert math.isnan(frame["snr_db"].iloc[0]) and frame["snr_db"].iloc[1] == 0.0


def test_dask_cluster_gives_the_same_rows(local_rows):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        dask_rows = list(
            run_sweep(SENTENCES, ["pocketsphinx"], SNRS, synthesizer="piper", seed=3, client=client)
        )
    assert sorted(dask_rows, key=lambda r: r.key) == sorted(local_rows, key=lambda r: r.key)


def test_progress_callback_counts_each_row():
    seen: list[tuple[int, int]] = []
    rows = list(
        run_sweep(
            SENTENCES[:1], ["pocketsphinx"], [None, 20], synthesizer="piper", workers=1,
            progress=lambda done, total, row: seen.append((done, total)),
        )
    )  # fmt: skip
    assert seen == [(1, 2), (2, 2)]
    assert len(rows) == 2


def test_models_must_travel_as_names():
    from lab.models import get_recognizer

    recognizer = get_recognizer("pocketsphinx")
    with pytest.raises(TypeError, match="names or folders"):
        next(run_sweep(["Hello there."], [recognizer], [None], synthesizer="piper"))


@pytest.mark.parametrize("snrs", [[], [math.inf], ["loud"]])
def test_bad_snr_lists_are_refused_before_any_work(snrs):
    with pytest.raises(LabError, match="SNR"):
        next(run_sweep(["Hello there."], ["pocketsphinx"], snrs, synthesizer="piper"))


@pytest.mark.parametrize("which", ["wav2vec2", "hubert"])
def test_noisy_copies_heard_in_one_pass_read_the_same_as_one_by_one(tiny, which):
    from lab.models import get_recognizer
    from lab.noise import add_noise

    recognizer = get_recognizer(str(getattr(tiny, which)))
    rng = np.random.default_rng(5)
    speech = lab.Audio((0.3 * rng.standard_normal(16_000)).astype(np.float32), 16_000)
    copies = [speech, add_noise(speech, 10.0, seed=1), add_noise(speech, 0.0, seed=1)]
    together = recognizer.recognize_batch(copies)
    for copy, batched in zip(copies, together, strict=True):
        alone = recognizer.recognize(copy)
        assert batched.text == alone.text
        np.testing.assert_array_equal(batched.path, alone.path)
        np.testing.assert_allclose(batched.emissions, alone.emissions, atol=1e-4)
        assert [(w.text, w.start_s) for w in batched.words] == [
            (w.text, w.start_s) for w in alone.words
        ]


def test_a_ctc_sweep_equals_a_plain_loop_of_roundtrip(tiny):
    folder = str(tiny.wav2vec2)
    snrs = [None, 10.0, 0.0]
    rows = list(run_sweep(SENTENCES[:1], [folder], snrs, synthesizer="piper", seed=2, workers=1))
    assert [r.snr_db for r in rows] == snrs
    for row in rows:
        rt = lab.roundtrip(SENTENCES[0], "piper", folder, snr_db=row.snr_db, seed=2)
        assert row.hypothesis == rt.recognition.text
        assert row.wer == rt.scores.wer and row.untrained


def test_warm_workers_serve_later_sweeps_without_restarting(local_rows):
    from lab import sweep

    sweep.start_workers(["pocketsphinx"], workers=2)
    try:
        live = sweep._live_workers
        assert live is not None
        pids = set(live.executor._processes)
        assert len(pids) == 2
        for _ in range(2):
            rows = list(
                run_sweep(SENTENCES, ["pocketsphinx"], SNRS, synthesizer="piper", seed=3, workers=2)
            )
            assert sorted(rows, key=lambda r: r.key) == sorted(local_rows, key=lambda r: r.key)
        assert sweep._live_workers is live and set(live.executor._processes) == pids
    finally:
        sweep.stop_workers()
    assert sweep._live_workers is None


def test_babble_is_a_sweep_noise_and_rows_match_roundtrip():
    rows = list(
        run_sweep(SENTENCES[1], ["pocketsphinx"], [20.0], synthesizer="piper", noise="babble",
                  seed=4, workers=1)
    )  # fmt: skip
    (row,) = rows
    trip = lab.roundtrip(SENTENCES[1], "piper", "pocketsphinx", snr_db=20.0, noise="babble", seed=4)
    assert row.noise == "babble" and row.hypothesis == trip.recognition.text
    with pytest.raises(LabError, match="white, pink, babble"):
        next(run_sweep(["Hello there."], ["pocketsphinx"], [0.0], synthesizer="piper", noise="hum"))
