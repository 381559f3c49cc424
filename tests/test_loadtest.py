"""The load test's small configuration: three visitors at once on the round-trip lab."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from loadtest.run import CHROMIUM, CONFIGS, LOOPBACK, served_pool_size, voila_command

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]


def test_voila_command_stays_on_loopback_with_the_dashboard_configuration():
    command = voila_command(8999, pool_size=2, cull_idle_s=900)
    assert f"--Voila.ip={LOOPBACK}" in command and LOOPBACK == "127.0.0.1"
    assert any(c.startswith("--Voila.config_file_paths=") for c in command)
    assert "--preheat_kernel=True" in command
    assert "--MappingKernelManager.cull_idle_timeout=900" in command
    # by default the pool voila.json sets is served as is; 0 turns preheating off
    assert not any("preheat" in c for c in voila_command(8999, None, 0))
    assert "--preheat_kernel=False" in voila_command(8999, 0, 0)


def test_ci_configuration_holds_every_visitor(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"No Chromium at {CHROMIUM}: apt-get install chromium.")
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "--config", "ci", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=400,
    )
    print(done.stdout)
    report = json.loads(out.read_text())
    assert report["sessions"] == CONFIGS["ci"]["sessions"] == 3
    assert report["held"] == 3 and report["failures"] == [], done.stdout + done.stderr[-2000:]
    assert done.returncode == 0
    for visit in report["visits"]:
        assert visit["status"].startswith("✓ WER"), visit
        assert visit["page_s"] > 0 and 0 < visit["result_s"] <= report["result_worst_s"]
    # one kernel per visitor, each with the bundled pair loaded once, plus the preheated pool
    # that voila.json keeps for the lab (filled before visitors came, refilled as they take it)
    pool = report["settings"]["pool_size"]
    assert pool == served_pool_size() == 1
    assert report["idle_kernels_before"] == pool
    assert 3 <= report["kernels"] <= 3 + pool
    assert all(100 < uss < 4000 for uss in report["kernel_uss_mb"])
    assert report["total_uss_mb"] > sum(report["kernel_uss_mb"])
    assert "visitors 3: held 3, failures 0" in done.stdout
    # the pages ran on the shared model service: no kernel loaded torch
    assert report["mode"] == "service" and report["kernels_with_torch"] == 0
    assert report["service_pss_mb"] > 0 and all(k < 300 for k in report["kernel_rss_mb"])
