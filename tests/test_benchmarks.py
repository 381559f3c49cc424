from __future__ import annotations

import json
import math

from benchmarks.run import README, README_END, README_START, RESULTS, Models, run, to_markdown

EXPECTED_ROWS = {
    "recognition_rtf",
    "synthesis_rtf",
    "roundtrip_s",
    "slider_move_s",
    "int8_recognition_s",
    "sweep_jobs_per_min",
    "payload_bytes",
    "peak_memory_mb",
    "model_load_s",
}


def test_quick_run_writes_every_figure_with_numbers(tiny, tmp_path):
    models = Models(tiny.speecht5, tiny.hifigan, (tiny.wav2vec2, tiny.hubert), "tiny random")
    run(quick=True, models=models, out=tmp_path)

    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["machine"]["cores"] >= 1
    rows = {r["id"]: r for r in report["rows"]}
    assert set(rows) == EXPECTED_ROWS
    for row_id, row in rows.items():
        for key in ("lab", "baseline_value", "ratio"):
            assert isinstance(row[key], float) and math.isfinite(row[key]) and row[key] > 0, (
                row_id,
                key,
            )
        assert isinstance(row["met"], bool)

    markdown = (tmp_path / "latest.md").read_text()
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(lines) == 2 + len(EXPECTED_ROWS)  # header, rule, one line per figure
    for row in rows.values():
        assert row["figure"] in markdown


def test_readme_shows_the_latest_full_run():
    latest = json.loads((RESULTS / "latest.json").read_text())
    assert not latest["quick"] and latest["models"] == "full-size architectures, random weights"
    readme = README.read_text()
    shown = readme[readme.index(README_START) + len(README_START) : readme.index(README_END)]
    assert shown.strip() == to_markdown(latest).strip()
    assert (RESULTS / "latest.md").read_text() == to_markdown(latest)
