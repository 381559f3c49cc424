"""The dashboards started the way Binder starts them: ``binder/start`` in front of Jupyter Server
(JupyterLab, with Voilà as a server extension), reading the config files ``postBuild`` installs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser_support import PAGE_TIMEOUT_MS, ROOT, SCREENSHOTS
from test_browser import RUN_TIMEOUT_MS

from loadtest.run import free_port, has_torch, kernel_processes

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode(errors="replace")


@pytest.fixture
def binder_server(tmp_path):
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    # what postBuild puts in the user's Jupyter config folder
    shutil.copy(ROOT / "notebooks/dashboards/voila.json", home / ".jupyter/voila.json")
    shutil.copy(ROOT / "binder/jupyter_server_config.json", home / ".jupyter")
    port, service_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPEECHLAB_", "JUPYTER_", "HF_")) and k != "HOME"
    }
    env.update(
        HOME=str(home),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        SPEECHLAB_SERVICE_PORT=str(service_port),
    )
    log = (SCREENSHOTS.parent / "binder-server.log").open("w")
    process = subprocess.Popen(
        [str(ROOT / "binder/start"), "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--IdentityProvider.token=", "--ServerApp.password=",
         "--allow-root"],  # CI runs as root; Binder does not
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if get(url + "/api/status")[0] == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        pytest.fail(
            "Jupyter Server did not answer: "
            + (SCREENSHOTS.parent / "binder-server.log").read_text()[-2000:]
        )
    try:
        yield url, process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        subprocess.run(
            [sys.executable, "-m", "lab.cli", "service", "stop", "--port", str(service_port)],
            capture_output=True, timeout=60,
        )  # fmt: skip


def test_binder_launch_serves_the_lab_thin_with_jupyterlab_beside_it(binder_server, browser):
    url, process = binder_server
    status, body = get(url + "/lab")
    assert status == 200 and "JupyterLab" in body  # the notebooks open in JupyterLab

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(url + "/voila/render/notebooks/dashboards/roundtrip_lab.ipynb")
    page.get_by_role("button", name="Run").wait_for()
    page.locator("textarea").first.fill("The birch canoe slid on the smooth planks.")
    page.get_by_role("button", name="Run").click()
    page.locator("text=/✓ WER/").first.wait_for(timeout=RUN_TIMEOUT_MS)
    page.screenshot(path=str(SCREENSHOTS / "binder_roundtrip_lab.png"), full_page=True)

    kernels = json.loads(get(url + "/api/kernels")[1])
    assert len(kernels) == 1
    assert not any(has_torch(k.pid) for k in kernel_processes(process.pid)), "thin kernel"

    # Jupyter Server culls the closed page's kernel, as voila.json has standalone Voilà do
    context.close()
    closed = time.monotonic()
    while json.loads(get(url + "/api/kernels")[1]) and time.monotonic() - closed < 120:
        time.sleep(2)
    assert json.loads(get(url + "/api/kernels")[1]) == []
    assert time.monotonic() - closed <= 90
