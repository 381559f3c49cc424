from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab import models
from lab.audio import Audio
from lab.cli import main
from lab.results import RoundTrip

SENTENCE = "Speech recognition is getting better every year."


@pytest.fixture(autouse=True)
def offline_empty_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    hub = tmp_path / "hf" / "hub"
    hub.mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.delenv(models.ALLOWLIST_ENV, raising=False)
    return hub


def test_roundtrip_prints_transcript_scores_and_saves(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        ["roundtrip", SENTENCE, "--tts", "piper", "--asr", "pocketsphinx", "--out", str(out)]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "transcript: speech recognition is getting better every year" in captured.out
    assert "WER 0.000" in captured.out and "BLEU" in captured.out and "chrF" in captured.out
    assert "recognition" in captured.out  # timings
    assert "Recognising with pocketsphinx" in captured.err  # progress stays off stdout
    saved = RoundTrip.load(out)
    assert saved.text == SENTENCE
    assert saved.recognition.text == "speech recognition is getting better every year"
    assert Audio.load(out / "synthesized.wav").duration_s > 1.0
    assert (out / "heard.wav").is_file()


def test_roundtrip_with_noise_as_json(capsys):
    args = ["roundtrip", SENTENCE, "--tts", "piper", "--asr", "pocketsphinx"]
    code = main(["-q", *args, "--snr", "0", "--noise", "pink", "--seed", "3", "--json"])
    assert code == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet
    summary = json.loads(captured.out)
    assert summary["snr_db"] == 0 and summary["noise"] == "pink" and summary["seed"] == 3
    assert summary["recognizer"] == "pocketsphinx" and summary["untrained"] is False
    assert summary["cer"] >= 0.0 and summary["timings"]["recognition"] > 0


def test_defaults_fall_back_to_bundled_pair_with_notice(capsys):
    assert main(["roundtrip", "Hello there."]) == 0
    captured = capsys.readouterr()
    assert "piper → pocketsphinx" in captured.out
    assert "speechlab models download speecht5 wav2vec2-base-960h" in captured.err


def test_synth_then_recognize_with_word_times(tmp_path, capsys):
    wav = tmp_path / "speech.wav"
    assert main(["synth", "The birch canoe slid on the smooth planks.", "-o", str(wav)]) == 0
    audio = Audio.load(wav)
    assert audio.sample_rate == 22_050 and 1.0 < audio.duration_s < 6.0
    capsys.readouterr()
    assert main(["recognize", str(wav), "--asr", "pocketsphinx", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # PocketSphinx is a weak classic recogniser: the sentence comes back recognisably, not exactly
    heard = result["transcript"].split()
    assert {"birch", "planks"} <= set(heard), heard
    ends = [w["end_s"] for w in result["words"]]
    assert ends and max(ends) <= audio.duration_s
    assert main(["recognize", str(wav), "--asr", "pocketsphinx", "--words"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == result["transcript"]
    assert len(lines) == 1 + len(result["words"])


def test_models_lists_every_model_and_its_state(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in models.KNOWN_MODELS:
        assert name in out
    piper_line = next(line for line in out.splitlines() if line.startswith("piper "))
    assert "bundled" in piper_line
    speecht5_line = next(line for line in out.splitlines() if line.startswith("speecht5 "))
    assert "microsoft/speecht5_tts" in speecht5_line and "cached" not in speecht5_line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["models", "download", "speecht5"], "speechlab models download speecht5"),
        (["roundtrip", "Hi.", "--asr", "whisper"], "Unknown recognizer 'whisper'"),
        (["roundtrip", "Hi.", "--tts", "piper", "--asr", "wav2vec2-base-960h"], "not in the local"),
        (["roundtrip", "   ", "--tts", "piper"], "empty"),
        (["recognize", "no-such-file.wav"], "No audio file"),
        (["models", "download"], "Name the models"),
    ],
)
def test_lab_errors_are_one_line_and_exit_2(capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("speechlab: error: ")
    assert expected in err[-1]
    assert not any("Traceback" in line for line in err)


def test_allowlist_applies_to_the_command_line(monkeypatch, capsys):
    monkeypatch.setenv(models.ALLOWLIST_ENV, "piper")
    assert main(["roundtrip", "Hi.", "--tts", "piper", "--asr", "pocketsphinx"]) == 2
    assert "not offered here" in capsys.readouterr().err


def test_untrained_model_is_labelled(tiny, tmp_path, capsys):
    wav = tmp_path / "hello.wav"
    assert main(["-q", "synth", "Hello.", "-o", str(wav)]) == 0
    capsys.readouterr()
    assert main(["-q", "recognize", str(wav), "--asr", str(tiny.wav2vec2)]) == 0
    assert "UNTRAINED" in capsys.readouterr().out


@pytest.mark.slow
def test_installed_script_runs(tmp_path):
    script = shutil.which("speechlab", path=str(Path(sys.executable).parent))
    assert script is not None, "the speechlab console script is not installed"
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    wav = tmp_path / "s.wav"
    assert main(["-q", "synth", SENTENCE, "-o", str(wav)]) == 0
    done = subprocess.run(
        [script, "recognize", str(wav), "--asr", "pocketsphinx"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "speech recognition is getting better every year"
    failed = subprocess.run(
        [script, "recognize", str(wav), "--asr", "hubert-large-ls960-ft"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines()[-1].startswith("speechlab: error: ")
    assert "speechlab models download hubert-large-ls960-ft" in failed.stderr
    assert "Traceback" not in failed.stderr
