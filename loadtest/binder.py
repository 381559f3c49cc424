"""Memory of one Binder session, started the way Binder starts it.

``binder/start`` in front of Jupyter Server (JupyterLab with Voilà as a server extension), reading
the config files ``postBuild`` installs, offering full-size random-weight SpeechT5 + HiFi-GAN,
wav2vec2-base and HuBERT-large (they cost what the pretrained ones cost). One visitor opens the
landing page and all four dashboards, runs a round trip in the lab, then switches the recognizer
to HuBERT. Memory is measured with files counted once (PSS) over the server, its kernels and the
model service, after the round trip and after HuBERT.

    .venv/bin/python -m loadtest.binder --json loadtest/results/binder-session.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from loadtest.run import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FULL_SIZE_DIR,
    ROOT,
    _tree,
    free_port,
    has_torch,
    kernel_processes,
    neural_models,
)

PAGES = (
    "index.ipynb",
    "recognizer_comparison.ipynb",
    "robustness_sweep.ipynb",
    "listening_test.ipynb",
)
TIMEOUT_MS = 600_000


def session_memory(server_pid: int, service_port: int) -> dict[str, Any]:
    import psutil

    def pss(process: Any) -> float:
        try:
            return float(process.memory_full_info().pss) / 2**20
        except psutil.Error:
            return 0.0

    service = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "serve" in (p.info["cmdline"] or []) and str(service_port) in (p.info["cmdline"] or [])
    ]
    service_tree = [q for p in service for q in _tree(p.pid)]
    kernels = kernel_processes(server_pid)
    kernel_pids = {k.pid for k in kernels}
    server = [p for p in _tree(server_pid) if p.pid not in kernel_pids]
    kernel_rss = []
    for k in kernels:
        try:
            kernel_rss.append(k.memory_info().rss / 2**20)
        except psutil.Error:
            continue
    return {
        "total_pss_mb": round(sum(map(pss, server + kernels + service_tree)), 1),
        "server_pss_mb": round(sum(map(pss, server)), 1),
        "service_pss_mb": round(sum(map(pss, service_tree)), 1),
        "kernel_pss_mb": [round(pss(k), 1) for k in kernels],
        "kernel_rss_mb": [round(r, 1) for r in kernel_rss],
        "kernels_with_torch": sum(has_torch(k.pid) for k in kernels),
    }


async def visit(url: str) -> AsyncIterator[dict[str, Any]]:
    from playwright.async_api import async_playwright

    timings: dict[str, Any] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        lab = await context.new_page()
        lab.set_default_timeout(TIMEOUT_MS)
        started = time.perf_counter()
        await lab.goto(f"{url}/voila/render/notebooks/dashboards/roundtrip_lab.ipynb")
        await lab.get_by_role("button", name="Run").wait_for()
        timings["lab_ready_s"] = round(time.perf_counter() - started, 1)
        pressed = time.perf_counter()
        await lab.get_by_role("button", name="Run").click()
        done = lab.locator("text=/✓ WER|⚠/").first
        await done.wait_for()
        if not (await done.inner_text()).startswith("✓"):
            raise RuntimeError(f"The round trip failed: {await done.inner_text()}")
        timings["first_roundtrip_s"] = round(time.perf_counter() - pressed, 1)
        others = []
        for name in PAGES:
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            await page.goto(f"{url}/voila/render/notebooks/dashboards/{name}")
            await page.locator(".jp-OutputArea-output").first.wait_for()
            others.append(page)
        await asyncio.sleep(5)
        yield_point = {"timings": timings}
        yield yield_point  # memory with SpeechT5 + HiFi-GAN + wav2vec2-base and every page open
        status = lab.locator("text=/✓ WER/").first
        before = await status.inner_text()
        pressed = time.perf_counter()
        await lab.locator("select").nth(2).select_option(label="hubert-large")
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            text = await lab.locator("text=/✓ WER|⚠/").first.inner_text()
            if text != before and "hubert" in text.lower():
                break
            await asyncio.sleep(1)
        timings["hubert_s"] = round(time.perf_counter() - pressed, 1)
        timings["hubert_status"] = await lab.locator("text=/✓ WER|⚠/").first.inner_text()
        yield yield_point  # memory with HuBERT asked for
        await browser.close()


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="speechlab-binder-") as tmp:
        home = Path(tmp) / "home"
        (home / ".jupyter").mkdir(parents=True)
        shutil.copy(ROOT / "notebooks/dashboards/voila.json", home / ".jupyter/voila.json")
        shutil.copy(ROOT / "binder/jupyter_server_config.json", home / ".jupyter")
        offered = neural_models(FULL_SIZE_DIR)
        hubert = FULL_SIZE_DIR / "hubert-large"
        offered["recognizers"] = [*offered["recognizers"], str(hubert)]
        models_file = Path(tmp) / "models.json"
        models_file.write_text(json.dumps(offered))
        port, service_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPEECHLAB_", "HF_"))}
        env.update(
            HOME=str(home),
            PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            SPEECHLAB_SERVICE_PORT=str(service_port),
            SPEECHLAB_DASHBOARD_MODELS=str(models_file),
        )
        log = (Path(tmp) / "server.log").open("w")
        command = [str(ROOT / "binder/start"), "jupyter", "lab", "--no-browser",
                   "--ip=127.0.0.1", f"--port={port}", "--IdentityProvider.token=",
                   "--allow-root"]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(url + "/api/status", timeout=5):
                        break
                except OSError:
                    time.sleep(0.5)
            measured: list[dict[str, Any]] = []

            async def drive() -> dict[str, Any]:
                timings: dict[str, Any] = {}
                async for point in visit(url):
                    await asyncio.sleep(3)
                    measured.append(session_memory(process.pid, service_port))
                    timings = point["timings"]
                return timings

            timings = asyncio.run(drive())
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
            subprocess.run(
                [sys.executable, "-m", "lab.cli", "service", "stop", "--port", str(service_port)],
                capture_output=True, timeout=60,
            )  # fmt: skip
    return {
        "neural_pair_and_all_pages": measured[0],
        "after_hubert": measured[1] if len(measured) > 1 else None,
        "timings": timings,
        "budget_mb": float(_binder_budget()),
        "torch": _torch_build(),
    }


def _binder_budget() -> str:
    for line in (ROOT / "binder/start").read_text().splitlines():
        if line.startswith("export SPEECHLAB_MODEL_BUDGET_MB="):
            return line.partition("=")[2]
    return "0"


def _torch_build() -> str:
    from importlib.metadata import version

    return version("torch")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.binder", description=__doc__)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = run()
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
