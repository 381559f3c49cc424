"""Kernels of closed or reloaded pages go away; open pages keep theirs.

Voilà 0.5's own shutdown request on page close is refused ("'_xsrf' argument missing from
POST", voila#1458), so ``voila.json`` culls kernels that have had no connection for 50 s
(checked every 10 s); Voilà keeps its preheated pool out of culling, and ``voila.py`` counts the
culler's first sight of a kernel as activity, so a pool kernel handed to a slow page is safe.
"""

from __future__ import annotations

import json
import time

import pytest
from browser_support import PAGE_TIMEOUT_MS, SCREENSHOTS, start_voila
from test_browser import RUN_TIMEOUT_MS, _server_env

from loadtest.run import DASHBOARDS, has_torch, kernel_processes, served_pool_size

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

GONE_WITHIN_S = 90


def kernel_pids(server) -> set[int]:
    return {k.pid for k in kernel_processes(server.process.pid)}


def test_culling_settings_remove_unconnected_kernels_within_90_s():
    config = json.loads((DASHBOARDS / "voila.json").read_text())["MappingKernelManager"]
    assert config["cull_connected"] is False  # an open page is never culled
    # first sight (one interval), the idle timeout, then the next pass
    assert config["cull_idle_timeout"] + 2 * config["cull_interval"] <= GONE_WITHIN_S


def test_a_handed_out_kernel_with_old_activity_is_not_culled_at_first_sight():
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta
    from types import SimpleNamespace

    from jupyter_server._tz import utcnow
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("voila.py", path=str(DASHBOARDS)).load_config()
    manager_class = config.VoilaConfiguration.multi_kernel_manager_class
    manager = manager_class()
    stale = utcnow() - timedelta(hours=3)  # preheated long before the visitor came
    manager._kernels["k"] = SimpleNamespace(last_activity=stale)
    culled = []

    async def parent_cull(self, kernel_id):
        culled.append(kernel_id)

    def cull(kernel_id: str) -> None:
        # on a thread of its own: the browser tests' Playwright keeps a loop running here
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, manager.cull_kernel_if_idle(kernel_id)).result()

    base = manager_class.__mro__[1]
    original = base.cull_kernel_if_idle
    base.cull_kernel_if_idle = parent_cull
    try:
        cull("k")
        assert culled == [] and manager._kernels["k"].last_activity > stale
        cull("k")  # later passes decide as usual
        assert culled == ["k"]
    finally:
        base.cull_kernel_if_idle = original


def test_reloaded_and_closed_pages_leave_only_the_pool(browser, tmp_path, capsys):
    server = start_voila(SCREENSHOTS.parent / "voila-lifecycle.log", _server_env(tmp_path))
    pool = served_pool_size()
    try:
        deadline = time.monotonic() + 120
        while len(kernel_pids(server)) < pool and time.monotonic() < deadline:
            time.sleep(1)
        # a visitor who keeps the lab open the whole time
        stay = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        stay.set_default_timeout(PAGE_TIMEOUT_MS)
        stay.goto(server.render_url("roundtrip_lab.ipynb"))
        stay.get_by_role("button", name="Run").wait_for()
        staying = kernel_pids(server)

        # a visitor who reloads five times, then closes the tab
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        leave = context.new_page()
        leave.set_default_timeout(PAGE_TIMEOUT_MS)
        leave.goto(server.render_url("roundtrip_lab.ipynb"))
        leave.get_by_role("button", name="Run").wait_for()
        for _ in range(5):
            leave.reload()
            leave.get_by_role("button", name="Run").wait_for()
        context.close()
        closed_at = time.monotonic()
        assert len(kernel_pids(server)) >= 6, "each load of the page had its own kernel"

        # kernels left: the open page's, and the refilled pool
        while time.monotonic() - closed_at < GONE_WITHIN_S + 30:
            if len(kernel_pids(server)) <= 1 + pool:
                break
            time.sleep(2)
        gone_after = time.monotonic() - closed_at
        left = kernel_pids(server)
        with capsys.disabled():
            print(f"\n[browser] kernels of 6 closed pages gone after {gone_after:.0f} s")
        assert len(left) == 1 + pool and gone_after <= GONE_WITHIN_S, (left, gone_after)
        assert staying & left, "the open page's kernel must not be culled"
        assert not any(has_torch(pid) for pid in left), "dashboard kernels stay thin"

        # the page that stayed open still works after its neighbours were culled
        stay.locator("textarea").first.fill("The birch canoe slid on the smooth planks.")
        stay.get_by_role("button", name="Run").click()
        stay.locator("text=/✓ WER/").first.wait_for(timeout=RUN_TIMEOUT_MS)
    finally:
        server.stop()
