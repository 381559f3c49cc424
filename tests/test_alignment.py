import numpy as np
import pytest

from lab.alignment import align, collapse_path, frames_needed

VOCAB = ("<pad>", "|", "A", "B", "C")
FRAME_S = 0.02


def emissions_for(path: list[int], confidence: float = 0.9) -> np.ndarray:
    """Log-probs where each frame puts ``confidence`` on its path token, the rest spread evenly."""
    probs = np.full((len(path), len(VOCAB)), (1 - confidence) / (len(VOCAB) - 1), dtype=np.float32)
    probs[np.arange(len(path)), path] = confidence
    return np.log(probs)


# A A _ B | | C C _ _  ->  "AB C"
CLEAR_PATH = [2, 2, 0, 3, 1, 1, 4, 4, 0, 0]


def test_char_segments_have_times_in_seconds_and_frame_scores():
    result = align(emissions_for(CLEAR_PATH), [2, 3, 1, 4], VOCAB, FRAME_S)
    assert [c.text for c in result.chars] == ["A", "B", "C"]
    times = [t for c in result.chars for t in (c.start_s, c.end_s)]
    assert times == pytest.approx([0.0, 0.04, 0.06, 0.08, 0.12, 0.16])
    assert all(c.score == pytest.approx(0.9, abs=1e-5) for c in result.chars)


def test_words_split_on_the_delimiter_and_span_their_characters():
    result = align(emissions_for(CLEAR_PATH), [2, 3, 1, 4], VOCAB, FRAME_S)
    assert [w.text for w in result.words] == ["AB", "C"]
    assert (result.words[0].start_s, result.words[0].end_s) == pytest.approx((0.0, 0.08))
    assert (result.words[1].start_s, result.words[1].end_s) == pytest.approx((0.12, 0.16))


def test_an_unsure_frame_lowers_its_characters_score():
    emissions = emissions_for(CLEAR_PATH)
    probs = np.exp(emissions)
    probs[6] = [0.2, 0.1, 0.1, 0.1, 0.5]  # first frame of "C" only half sure
    result = align(np.log(probs), [2, 3, 1, 4], VOCAB, FRAME_S)
    assert result.chars[2].score == pytest.approx((0.5 + 0.9) / 2, abs=1e-5)
    assert result.chars[0].score == pytest.approx(0.9, abs=1e-5)


def test_forced_alignment_follows_the_transcript_not_the_argmax():
    # The emissions say "AB C" but the transcript is "CB": the aligner still places C and B.
    result = align(emissions_for(CLEAR_PATH), [4, 3], VOCAB, FRAME_S)
    assert [c.text for c in result.chars] == ["C", "B"]
    assert result.chars[0].end_s <= result.chars[1].start_s
    assert result.chars[0].score < 0.5


def test_empty_transcript_gives_no_segments():
    result = align(emissions_for(CLEAR_PATH), [], VOCAB, FRAME_S)
    assert result.chars == () and result.words == ()


def test_transcript_longer_than_the_frames_gives_no_segments():
    too_long = [2, 3, 4] * 4  # 12 tokens for 10 frames
    result = align(emissions_for(CLEAR_PATH), too_long, VOCAB, FRAME_S)
    assert result.chars == () and result.words == ()
    # Repeats need a blank between them: "AAAAA" needs 9 frames; 5 frames are not enough.
    assert frames_needed([2] * 5) == 9
    assert align(emissions_for([2, 0, 2, 0, 2]), [2] * 5, VOCAB, FRAME_S).chars == ()


def test_collapse_path_merges_repeats_and_drops_blanks():
    assert collapse_path(CLEAR_PATH) == [2, 3, 1, 4]
    assert collapse_path([2, 0, 2, 2]) == [2, 2]
