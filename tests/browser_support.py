"""Helpers for the browser tests: a Voilà server on a free loopback port, and Debian's Chromium.

Playwright never downloads a browser here: it drives the system Chromium at ``/usr/bin/chromium``
(``apt-get install chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from loadtest.run import CHROMIUM, CHROMIUM_ARGS, free_port
from loadtest.run import voila_command as loadtest_voila_command

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-output" / "screenshots"
PAGE_TIMEOUT_MS = 90_000
"""How long a page step may wait: a kernel start on two busy cores takes tens of seconds."""
TIMINGS = ROOT / "test-output" / "browser_timings.json"


def voila_command(port: int) -> list[str]:
    """The ``make dashboard`` command line (``voila.json`` as it is), on another port."""
    return loadtest_voila_command(port, pool_size=None, cull_idle_s=0, proposed=False)


@dataclass
class VoilaServer:
    """A Voilà process serving ``notebooks/dashboards``; ``started_at`` is ``time.perf_counter()``
    just before the process was launched."""

    process: subprocess.Popen
    url: str
    started_at: float
    log_path: Path
    ready_s: float = 0.0
    """Seconds from launch until the server answered HTTP."""
    extra: dict = field(default_factory=dict)
    service: subprocess.Popen | None = None
    """The model service the pages use, as ``make dashboard`` starts one."""
    service_address: str = ""

    def render_url(self, notebook: str) -> str:
        return f"{self.url}/voila/render/{notebook}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        for process in (self.process, self.service):
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def start_voila(
    log_path: Path,
    env: dict[str, str | None] | None = None,
    timeout_s: float = 60,
    service: bool = True,
) -> VoilaServer:
    """Launch Voilà in its own process group and wait until it answers on its port.

    ``env`` adds variables to this process's environment; a None value removes one.
    ``service``: as ``make dashboard``, a model service on a free port serves every page's
    models (False: each kernel loads its own).
    """
    from lab import service as model_service

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    merged = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    full_env = {k: v for k, v in merged.items() if v is not None}
    full_env.pop(model_service.SERVICE_ENV, None)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    service_process = None
    if service:
        service_port = free_port()
        service_process = model_service.start(
            service_port, env=full_env, log=log_path.with_suffix(".service.log")
        )
        full_env[model_service.SERVICE_ENV] = f"tcp://127.0.0.1:{service_port}"
        full_env[model_service.AUTOSTART_ENV] = "1"
    log = log_path.open("w")
    started = time.perf_counter()
    process = subprocess.Popen(
        voila_command(port),
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = VoilaServer(process, url, started, log_path, service=service_process)
    server.service_address = full_env.get(model_service.SERVICE_ENV, "")
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Voilà exited with {process.returncode}:\n{server.log()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as response:
                if response.status == 200:
                    server.ready_s = time.perf_counter() - started
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"Voilà did not answer within {timeout_s:.0f} s:\n{server.log()[-3000:]}")


def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def record_timing(name: str, seconds: float) -> None:
    """Keep a measured time in test-output/browser_timings.json (the figures the docs quote)."""
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    data[name] = round(seconds, 2)
    TIMINGS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
