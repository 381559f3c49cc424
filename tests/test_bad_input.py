"""What a workshop throws at the dashboards, driven through the widgets as a browser would.

Every bad upload, text or burst of clicks gets one sentence in the widget's status line, the
widget keeps working, and the result or rating shown before stays shown.
"""

from __future__ import annotations

import io
import os
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import soundfile as sf
from widget_fixtures import choose_file

import lab
from lab.audio import Audio
from lab.listening import Clip
from widgets.audio_input import DEFAULT_MAX_BYTES, AudioInput
from widgets.listening_test import ListeningTest
from widgets.recognizer_comparison import OWN_AUDIO, RecognizerComparison
from widgets.roundtrip_lab import RoundTripLab

SENTENCE = "Speech recognition is getting better every year."
ONE_SENTENCE = re.compile(r"^[^\n]{10,400}[.!?]$")


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def encoded(samples: np.ndarray, rate: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def upload(view: AudioInput, content: bytes, name: str) -> None:
    choose_file(view.upload, content, name)


def browser_click(button, sent_at: datetime) -> None:
    """A click as the kernel receives it from a page: a comm message stamped by the browser."""
    button._handle_msg(
        {
            "header": {"date": sent_at, "msg_type": "comm_msg"},
            "content": {"data": {"method": "custom", "content": {"event": "click"}}},
            "buffers": [],
        }
    )


def assert_one_sentence(message: str) -> None:
    assert ONE_SENTENCE.match(message), message
    assert "Traceback" not in message and "/tmp" not in message and "site-packages" not in message


# --- uploads ---------------------------------------------------------------------------------
GOOD = encoded(tone(0.5), 16000)
HOUR_FLAC = encoded(np.zeros(3600 * 8000, dtype=np.float32), 8000, "FLAC", "PCM_16")

BAD_UPLOADS = [
    # (case, file name, content, status kind, message)
    (
        "not audio (a PDF)",
        "slides.pdf",
        b"%PDF-1.7\n" + bytes(range(256)) * 8,
        "error",
        "slides.pdf is not readable audio (corrupt, or not WAV, FLAC, OGG or MP3): choose "
        "another file.",
    ),
    (
        "not audio (a phone's M4A)",
        "memo.m4a",
        b"\x00\x00\x00\x20ftypM4A " + bytes(400),
        "error",
        "memo.m4a is MP4/M4A (AAC) audio, which cannot be read here: convert it to WAV, FLAC, "
        "OGG or MP3.",
    ),
    (
        "truncated WAV",
        "cut.wav",
        encoded(tone(2.0), 16000)[:16044],
        "error",
        "cut.wav is truncated: its header announces 2.00 s but only 0.50 s arrived; upload the "
        "whole file.",
    ),
    (
        "truncated FLAC",
        "cut.flac",
        encoded(tone(2.0), 16000, "FLAC")[:60],
        "error",
        "cut.flac is not readable audio (corrupt, or not WAV, FLAC, OGG or MP3): choose another "
        "file.",
    ),
    (
        "empty file",
        "empty.wav",
        b"",
        "error",
        "empty.wav is empty (0 bytes): choose another file.",
    ),
    (
        "huge (over the 50 MB limit)",
        "huge.wav",
        b"RIFF" + bytes(DEFAULT_MAX_BYTES + 1_000_000),
        "error",
        "huge.wav is 51.0 MB; the limit is 50.0 MB: upload a shorter or compressed clip.",
    ),
    (
        "0 seconds",
        "zero.wav",
        encoded(np.zeros(0, dtype=np.float32), 16000),
        "error",
        "zero.wav holds no samples (0 seconds).",
    ),
    (
        "a few milliseconds",
        "click.wav",
        encoded(tone(0.02), 16000),
        "error",
        "click.wav lasts only 20 ms; a clip needs at least 0.1 s of audio: choose a longer one.",
    ),
    (
        "1 hour (small FLAC, refused from its header)",
        "lecture.flac",
        HOUR_FLAC,
        "error",
        "The clip lasts 60 minutes; this view takes up to 5 minutes: cut it shorter.",
    ),
    (
        "8 channels",
        "surround.wav",
        encoded(tone(0.5, channels=8), 16000),
        "ok",
        "Using surround.wav: 0.5 s at 16000 Hz, 8 channels mixed to mono.",
    ),
    (
        "8 kHz",
        "phone.wav",
        encoded(tone(0.5, 8000), 8000),
        "ok",
        "Using phone.wav: 0.5 s at 8000 Hz; 8 kHz is below the 16 kHz the recognisers listen at, "
        "so they hear less detail.",
    ),
    (
        "96 kHz",
        "studio.wav",
        encoded(tone(0.5, 96000), 96000, subtype="PCM_24"),
        "ok",
        "Using studio.wav: 0.5 s at 96000 Hz.",
    ),
    (
        "a visitor-supplied path as the name",
        "../../etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\n" * 20,
        "error",
        "passwd is not readable audio (corrupt, or not WAV, FLAC, OGG or MP3): choose another "
        "file.",
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "kind", "message"),
    [case[1:] for case in BAD_UPLOADS],
    ids=[case[0] for case in BAD_UPLOADS],
)
def test_each_bad_upload_gets_one_sentence_and_keeps_the_clip_before(
    name, content, kind, message, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    view = AudioInput(microphone=False)
    upload(view, GOOD, "good.wav")
    good = view.value
    assert good is not None

    upload(view, content, name)
    assert view.message == message
    assert view.status.kind == kind
    assert_one_sentence(view.message)
    if kind == "error":
        assert view.value is good and view.source == "upload: good.wav"
    else:
        assert view.value is not good and view.value.duration_s == pytest.approx(0.5, abs=0.01)
    # the bytes are not kept in the widget's state
    assert not any(isinstance(v, (bytes, memoryview)) for v in view.upload.get_state().values())
    assert os.listdir(tmp_path) == []  # nothing written, least of all under the visitor's name

    # the widget still takes a good file afterwards
    upload(view, GOOD, "again.wav")
    assert view.status.kind == "ok" and view.source == "upload: again.wav"


@pytest.fixture(scope="module")
def comparison_with_result():
    view = RecognizerComparison(["pocketsphinx"], synthesizer="piper", microphone=False)
    view.compare_button.click()
    assert view.status.kind == "ok", view.status.message
    return view


@pytest.mark.parametrize(
    ("name", "content", "kind", "message"),
    [case[1:] for case in BAD_UPLOADS if case[3] == "error"][:6],
    ids=[case[0] for case in BAD_UPLOADS if case[3] == "error"][:6],
)
def test_recognizer_comparison_keeps_its_result_when_an_upload_is_bad(
    comparison_with_result, name, content, kind, message
):
    view = comparison_with_result
    before = view.columns["pocketsphinx"].recognition
    view.source.value = OWN_AUDIO
    view.audio_input.value = None
    upload(view.audio_input, content, name)
    assert view.audio_input.message == message
    view.compare_button.click()
    assert view.status.message == "Upload a file or record a clip first."
    assert view.columns["pocketsphinx"].recognition is before
    assert not view.compare_button.disabled


@pytest.mark.parametrize(
    ("name", "content"),
    [(case[1], case[2]) for case in BAD_UPLOADS if case[3] == "ok"],
    ids=[case[0] for case in BAD_UPLOADS if case[3] == "ok"],
)
def test_odd_but_readable_uploads_are_recognised(comparison_with_result, name, content):
    view = comparison_with_result
    view.source.value = OWN_AUDIO
    upload(view.audio_input, content, name)
    view.reference.value = "a tone"
    view.compare_button.click()
    assert view.status.kind == "ok", view.status.message
    assert view.status.message.startswith("1 recognisers on 0.5 s of audio.")
    view.source.value = "Synthesise a sentence"


# --- text ------------------------------------------------------------------------------------
BAD_TEXTS = [
    ("empty", "", "The text is empty: type a sentence to synthesise."),
    ("only white space", "  \n\t ", "The text is empty: type a sentence to synthesise."),
    (
        "20,000 characters",
        ("The birch canoe slid on the smooth planks. " * 500)[:20_000],
        "The text has 20,000 characters; the limit is 10,000: shorten it or split it into several "
        "runs.",
    ),
    (
        "only punctuation",
        "?!… ,,, ;;; --- ...",
        "The text has no letters or digits to speak (only punctuation, symbols or emoji).",
    ),
    (
        "only emoji",
        "😀🎉👍🏽",
        "The text has no letters or digits to speak (only punctuation, symbols or emoji).",
    ),
    (
        "right-to-left (Arabic)",
        "التعرف على الكلام يتحسن كل عام",
        "The text is written in Arabic script, which the English voices here cannot read (they "
        "would spell it out letter by letter): type an English sentence.",
    ),
    (
        "right-to-left (Hebrew)",
        "זיהוי דיבור משתפר בכל שנה",
        "The text is written in Hebrew script, which the English voices here cannot read (they "
        "would spell it out letter by letter): type an English sentence.",
    ),
    (
        "CJK",
        "语音识别每年都在进步。",
        "The text is written in Chinese or Japanese (CJK) script, which the English voices here "
        "cannot read (they would spell it out letter by letter): type an English sentence.",
    ),
]


@pytest.fixture(scope="module")
def lab_with_result():
    app = RoundTripLab(text=SENTENCE, synthesizers=["piper"], recognizers=["pocketsphinx"])
    assert app.run() is not None, app.status.message
    return app


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in BAD_TEXTS], ids=[c[0] for c in BAD_TEXTS]
)
def test_each_bad_text_gets_one_sentence_and_keeps_the_result_shown(lab_with_result, text, message):
    app = lab_with_result
    shown, clean_audio = app.result, app.clean_player.value
    diff_words = [c.hypothesis.description for c in app.diff.words.children]

    app.text.value = text
    assert app.run() is None
    assert app.status.kind == "error"
    assert app.status.message == message
    assert_one_sentence(message)
    assert app.result is shown and app.clean_player.value == clean_audio
    assert [c.hypothesis.description for c in app.diff.words.children] == diff_words
    assert not app.run_button.disabled and not app.snr_slider.disabled

    # the slider still listens again to the last good synthesis, not to the bad text
    app.snr_slider.value = 10.0
    assert app.status.kind == "ok", app.status.message
    assert app.result.text == shown.text and app.result.snr_db == 10.0
    app.snr_slider.value = "clean"
    app.text.value = SENTENCE


def test_english_with_an_emoji_or_accents_still_runs(lab_with_result):
    app = lab_with_result
    app.text.value = "The café opens at nine 😀"
    result = app.run()
    assert result is not None and app.status.kind == "ok", app.status.message
    app.text.value = SENTENCE


def test_recognizer_comparison_refuses_bad_sentences_in_one_sentence(comparison_with_result):
    view = comparison_with_result
    view.source.value = "Synthesise a sentence"
    before = view.columns["pocketsphinx"].recognition
    for _, text, message in BAD_TEXTS:
        view.text.value = text
        view.compare_button.click()
        assert view.status.message == message
        assert view.columns["pocketsphinx"].recognition is before
    view.text.value = SENTENCE


# --- rapid clicks ----------------------------------------------------------------------------
def test_clicks_queued_during_a_run_start_no_extra_run(lab_with_result, monkeypatch):
    app = lab_with_result
    runs = []
    real_roundtrip = lab.roundtrip

    def counting(*args, **kwargs):
        runs.append(args[0])
        return real_roundtrip(*args, **kwargs)

    monkeypatch.setattr(lab, "roundtrip", counting)
    app.text.value = "The birch canoe slid on the smooth planks."
    t0 = datetime.now(timezone.utc)
    browser_click(app.run_button, t0)
    first = app.result
    assert len(runs) == 1 and app.status.kind == "ok"
    # four more clicks sent in the first 200 ms of a run that took longer: queued, not new
    for ms in (40, 80, 120, 200):
        browser_click(app.run_button, t0 + timedelta(milliseconds=ms))
    assert len(runs) == 1
    assert app.run_button.ignored_clicks == 4
    assert app.result is first and app.status.kind == "ok"
    # a click sent after the run had finished is a new request
    browser_click(app.run_button, t0 + timedelta(seconds=600))
    assert len(runs) == 2


def test_rapid_save_clicks_store_one_rating_and_keep_it(tmp_path):
    t = np.arange(3200) / 16000
    clips = [
        Clip(f"c{i}", Audio(0.2 * np.sin(2 * np.pi * (300 + 90 * i) * t), 16000), "the birch canoe")
        for i in range(3)
    ]
    view = ListeningTest(tmp_path / "r.sqlite", clips, seed=3)
    view.start("ann")
    rated = view.current_clip_id
    view.naturalness.value = 4
    view.heard.value = "the birch canoe"
    t0 = datetime.now(timezone.utc)
    browser_click(view.save_button, t0)
    for ms in (1, 2, 3):  # sent microseconds after the first: double clicks, not new saves
        browser_click(view.save_button, t0 + timedelta(microseconds=ms))
    ratings = view.store.ratings()
    assert [(r.clip_id, r.naturalness) for r in ratings] == [(rated, 4)]
    assert view.status.message == "Saved."
    assert view.save_button.ignored_clicks == 3


# --- listening-test text ---------------------------------------------------------------------
RATING_TEXTS = [
    ("empty", "", "Type what you heard (or your best guess) before saving."),
    (
        "only punctuation",
        "?!...",
        "Type the words you heard in letters (or your best guess; 'nothing' if you heard none), "
        "not only punctuation or emoji.",
    ),
    (
        "only emoji",
        "🤷‍♀️🎧",
        "Type the words you heard in letters (or your best guess; 'nothing' if you heard none), "
        "not only punctuation or emoji.",
    ),
    (
        "20,000 characters",
        "word " * 4_000,
        "What you typed has 19,999 characters; the limit is 2,000: type only the words of the "
        "clip.",
    ),
]


@pytest.mark.parametrize(
    ("typed", "message"), [c[1:] for c in RATING_TEXTS], ids=[c[0] for c in RATING_TEXTS]
)
def test_bad_typed_transcripts_are_refused_and_keep_earlier_ratings(tmp_path, typed, message):
    t = np.arange(3200) / 16000
    clips = [Clip(f"c{i}", Audio(0.1 * np.sin(2 * np.pi * 300 * t), 16000), "a b c") for i in "12"]
    view = ListeningTest(tmp_path / "r.sqlite", clips, seed=1)
    view.start("ann")
    view.naturalness.value, view.heard.value = 3, "a b c"
    view.save_button.click()
    first = view.store.ratings()
    current = view.current_clip_id

    view.naturalness.value, view.heard.value = 5, typed
    view.save_button.click()
    assert view.status.message == message and view.status.kind == "error"
    assert_one_sentence(message)
    assert view.store.ratings() == first
    assert view.current_clip_id == current and view.heard.value == typed  # nothing retyped


@pytest.mark.parametrize(
    ("typed", "wer"),
    [("مرحبا بالعالم", 1.0), ("语音识别", 1.0), ("A B C!", 0.0)],
    ids=["right-to-left", "CJK", "punctuated"],
)
def test_other_scripts_are_saved_as_typed(tmp_path, typed, wer):
    t = np.arange(3200) / 16000
    clip = Clip("c", Audio(0.1 * np.sin(2 * np.pi * 300 * t), 16000), "a b c")
    view = ListeningTest(tmp_path / "r.sqlite", [clip], seed=1)
    view.start("ann")
    view.naturalness.value, view.heard.value = 2, typed
    view.save_button.click()
    assert view.status.message == "Saved."
    [rating] = view.store.ratings()
    assert rating.heard_text == typed and rating.wer == pytest.approx(wer)


@pytest.mark.parametrize(
    ("rater", "message"),
    [
        ("", "Type a rater name (or an anonymous code) before starting."),
        (
            "x" * 20_000,
            "The rater name has 20,000 characters; the limit is 100: type a shorter name or code.",
        ),
    ],
    ids=["empty", "20,000 characters"],
)
def test_bad_rater_names_are_refused(tmp_path, rater, message):
    t = np.arange(3200) / 16000
    clip = Clip("c", Audio(0.1 * np.sin(2 * np.pi * 300 * t), 16000), "a b c")
    view = ListeningTest(tmp_path / "r.sqlite", [clip])
    view.rater.value = rater
    view.start_button.click()
    assert view.status.message == message and view.session is None
    view.rater.value = "رائد"  # right-to-left names are fine
    view.start_button.click()
    assert view.session is not None and view.status.kind == "ok"
