"""N concurrent visitors on the round-trip lab, served by Voilà as ``make dashboard`` serves it.

Voilà starts on a free loopback port with the dashboards' own configuration (plus the pool and
culling settings given here); Playwright drives Debian's Chromium (``/usr/bin/chromium``, never a
downloaded browser). Every visitor opens the page, types a sentence, presses Run and waits for
the result. Reported: sessions held, failures, median and worst time to the page and to the
result, and memory (resident and unique) of every kernel and of the whole server.

Bounded: at most :data:`MAX_SESSIONS` visitors and ``--timeout`` seconds in all; nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "notebooks" / "dashboards"
NOTEBOOK = "roundtrip_lab.ipynb"
CHROMIUM = Path(os.environ.get("SPEECHLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = "127.0.0.1"
MAX_SESSIONS = 50
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
)
PROPOSED = [
    # With many kernels starting at once, a page's widget output can arrive after nbclient's
    # default 4 s wait for IOPub: the page then renders without its widget and never works.
    "--VoilaExecutor.iopub_timeout=60",
    # Uploads reach the kernel in one websocket message; tornado's default cap is 10 MiB, so a
    # larger file would cut the page's connection instead of getting the widget's sentence.
    "--Voila.tornado_settings={'websocket_max_message_size': 134217728}",
]
"""Settings that fixed the 10-visitor failures; ``notebooks/dashboards/voila.json`` (what
``make dashboard`` serves) now holds them too, and they are repeated here so that the load test
states what it measured."""
CONFIGS: dict[str, dict[str, Any]] = {
    "ci": {"sessions": 3, "timeout_s": 300, "pool_size": None},
    "workshop": {"sessions": 10, "timeout_s": 900, "pool_size": None},
    "workshop30": {"sessions": 30, "timeout_s": 1500, "pool_size": None},
}
MODES = ("service", "per-kernel")
"""``service``: kernels use one shared model service (as ``make dashboard`` serves);
``per-kernel``: every kernel loads its own models (the way before the service)."""
MODEL_SETS = ("bundled", "neural")
"""``bundled``: Piper + PocketSphinx; ``neural``: full-size SpeechT5 + HiFi-GAN + wav2vec2-base
with random weights (they cost what the pretrained ones cost), SpeechT5 decoding a fixed length."""
FULL_SIZE_DIR = Path(
    os.environ.get("SPEECHLAB_FULL_SIZE_DIR", Path.home() / ".cache" / "speechlab" / "full-size")
)
"""Named sizes: ``ci`` runs in the test suite; ``workshop`` (or ``--sessions 30``) by hand.
A pool size of None serves the lab with the preheated pool ``voila.json`` sets."""


def served_pool_size() -> int:
    """Preheated kernels ``make dashboard`` keeps for the round-trip lab (from ``voila.json``)."""
    config = json.loads((DASHBOARDS / "voila.json").read_text())
    if not config.get("VoilaConfiguration", {}).get("preheat_kernel", False):
        return 0
    pools = config.get("VoilaKernelManager", {}).get("kernel_pools_config", {})
    return int(pools.get(NOTEBOOK, pools.get("default", {})).get("pool_size", 0))


@dataclass
class Visit:
    index: int
    page_s: float | None = None
    """Seconds from opening the page until its Run button could be pressed."""
    result_s: float | None = None
    """Seconds from pressing Run until the result's status line showed."""
    status: str = ""
    error: str = ""
    pressed_at: float | None = None
    finished_at: float | None = None


@dataclass
class Report:
    sessions: int
    held: int
    """Visitors whose page opened and whose round trip came back."""
    failures: list[str]
    page_median_s: float | None
    page_worst_s: float | None
    result_median_s: float | None
    result_worst_s: float | None
    total_median_s: float | None
    """Page open to result, per visitor."""
    total_worst_s: float | None
    kernels: int
    kernel_rss_mb: list[float]
    kernel_uss_mb: list[float]
    server_rss_mb: float
    total_rss_mb: float
    """Voilà plus every kernel, resident."""
    total_uss_mb: float
    """Voilà plus every kernel, unique to them (what the machine actually gives up)."""
    peak_total_uss_mb: float
    idle_kernels_before: int
    """Kernels running before any visitor came (preheated pool)."""
    wall_s: float
    cpus: int
    mode: str = "service"
    models: str = "bundled"
    page_p95_s: float | None = None
    result_p95_s: float | None = None
    results_per_min: float | None = None
    """Round trips finished per minute, from the first Run press to the last result."""
    total_pss_mb: float = 0.0
    """Voilà, every kernel and the model service, files counted once (PSS)."""
    service_pss_mb: float = 0.0
    kernel_pss_mb: list[float] = field(default_factory=list)
    kernels_with_torch: int = 0
    """Kernels that have libtorch mapped (none should, with the service)."""
    server_cpu_s: float = 0.0
    """CPU seconds of Voilà, its kernels and the service until every visitor had a result."""
    browser_cpu_s: float = 0.0
    """CPU seconds of the visitors' Chromium on the same machine (their laptops, in a workshop)."""
    settings: dict[str, Any] = field(default_factory=dict)
    visits: list[dict[str, Any]] = field(default_factory=list)

    def lines(self) -> list[str]:
        def fmt(value: float | None) -> str:
            return "—" if value is None else f"{value:.1f} s"

        per_kernel = (
            f"{statistics.median(self.kernel_uss_mb):.0f} MB unique / "
            f"{statistics.median(self.kernel_rss_mb):.0f} MB resident (median of {self.kernels})"
            if self.kernels
            else "—"
        )
        return [
            f"mode {self.mode}, {self.models} models",
            f"visitors {self.sessions}: held {self.held}, failures {len(self.failures)}",
            f"page ready: median {fmt(self.page_median_s)}, p95 {fmt(self.page_p95_s)}, "
            f"worst {fmt(self.page_worst_s)}",
            f"Run → result: median {fmt(self.result_median_s)}, p95 {fmt(self.result_p95_s)}, "
            f"worst {fmt(self.result_worst_s)}",
            f"throughput: {self.results_per_min or 0:.1f} round trips per minute",
            f"memory, files counted once (PSS): {self.total_pss_mb:.0f} MB in all "
            f"(model service {self.service_pss_mb:.0f} MB, kernels "
            f"{sum(self.kernel_pss_mb):.0f} MB, largest kernel "
            f"{max(self.kernel_pss_mb, default=0):.0f} MB); kernels with torch loaded: "
            f"{self.kernels_with_torch}",
            f"open → result: median {fmt(self.total_median_s)}, worst {fmt(self.total_worst_s)}",
            f"memory per kernel: {per_kernel}",
            f"memory in all: {self.total_uss_mb:.0f} MB unique, {self.total_rss_mb:.0f} MB resident "
            f"(Voilà itself {self.server_rss_mb:.0f} MB); peak {self.peak_total_uss_mb:.0f} MB unique",
            f"{self.cpus} CPU cores, {self.wall_s:.0f} s in all; CPU time: server side "
            f"{self.server_cpu_s:.0f} s, visitors' Chromium {self.browser_cpu_s:.0f} s",
            *(f"failure: {f}" for f in self.failures),
        ]


# --- the server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def voila_command(
    port: int, pool_size: int | None, cull_idle_s: int, proposed: bool = True
) -> list[str]:
    """``make dashboard``'s command line on another port, with the pool and culling settings.

    ``pool_size`` None keeps ``voila.json``'s pool; 0 turns preheating off."""
    voila = Path(sys.executable).parent / "voila"
    command = [
        str(voila),
        str(DASHBOARDS),
        "--no-browser",
        f"--Voila.ip={LOOPBACK}",
        f"--port={port}",
        f"--Voila.config_file_paths={DASHBOARDS}",
    ]
    if proposed:
        command += PROPOSED
    if pool_size == 0:
        command += ["--preheat_kernel=False"]
    elif pool_size is not None:
        command += [
            "--preheat_kernel=True",
            f"--pool_size={pool_size}",
            # a pool for the lab only: one idle kernel per other dashboard would cost memory
            '--VoilaKernelManager.kernel_pools_config={"default": {"pool_size": 0}, '
            f'"{NOTEBOOK}": {{"pool_size": {pool_size}}}}}',
        ]
    if cull_idle_s > 0:
        command += [
            f"--MappingKernelManager.cull_idle_timeout={cull_idle_s}",
            "--MappingKernelManager.cull_interval=60",
        ]
    return command


def neural_models(folder: Path = FULL_SIZE_DIR) -> dict[str, Any]:
    """Build (once, kept in ``folder``) full-size random-weight checkpoints and return the
    dashboard models file's content that offers them."""
    import numpy as np

    from lab.tiny import build_random_full_size

    for which in ("speecht5-steady", "hifigan", "wav2vec2-base"):
        if not (folder / which / "config.json").is_file():
            print(f"building random-weight {which} in {folder}", file=sys.stderr, flush=True)
            build_random_full_size(folder, which)
    voice = folder / "voice.npy"
    if not voice.is_file():
        xvector = np.random.default_rng(0).standard_normal(512).astype(np.float32)
        np.save(voice, xvector / np.linalg.norm(xvector))
    # one folder holding SpeechT5 with its vocoder, as the dashboards' models file names it
    synth = folder / "speecht5-full"
    synth.mkdir(exist_ok=True)
    for item in (folder / "speecht5-steady").iterdir():
        if not (synth / item.name).exists():
            (synth / item.name).symlink_to(item)
    if not (synth / "vocoder").exists():
        (synth / "vocoder").symlink_to(folder / "hifigan", target_is_directory=True)
    return {
        "synthesizers": [str(synth)],
        "recognizers": [str(folder / "wav2vec2-base")],
        "voices": {synth.name: [str(voice)]},
    }


class Server:
    def __init__(
        self,
        pool_size: int | None,
        cull_idle_s: int,
        workdir: Path,
        proposed: bool,
        mode: str = "service",
        models: str = "bundled",
    ) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            # an empty model cache: the bundled pair serves, as on a fresh workshop machine
            "HF_HOME": str(workdir / "hf"),
            "SPEECHLAB_LISTENING_DB": str(workdir / "listening.sqlite"),
        }
        for unset in (
            "SPEECHLAB_ALLOWED_MODELS",
            "SPEECHLAB_DASHBOARD_MODELS",
            "SPEECHLAB_SERVICE",
        ):
            env.pop(unset, None)
        preload = ["piper", "pocketsphinx"]
        if models == "neural":
            offered = neural_models()
            models_file = workdir / "models.json"
            models_file.write_text(json.dumps(offered))
            env["SPEECHLAB_DASHBOARD_MODELS"] = str(models_file)
            preload = [*offered["synthesizers"], *offered["recognizers"]]
        self.service: subprocess.Popen[bytes] | None = None
        if mode == "service":
            service_port = free_port()
            address = f"tcp://{LOOPBACK}:{service_port}"
            self.service = subprocess.Popen(
                [sys.executable, "-m", "lab.cli", "service", "serve", "--port",
                 str(service_port), "--preload", ",".join(preload)],
                cwd=ROOT,
                env=env,
                stdout=(workdir / "service.log").open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            self._wait_for_service(service_port, workdir / "service.log")
            env["SPEECHLAB_SERVICE"] = address
        self.log_path = workdir / "voila.log"
        self.command = voila_command(self.port, pool_size, cull_idle_s, proposed)
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _wait_for_service(self, port: int, log: Path) -> None:
        assert self.service is not None
        deadline = time.monotonic() + 600
        while "model service at" not in log.read_text(errors="replace"):
            if self.service.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The model service did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Voilà exited with {self.process.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"Voilà did not answer within {timeout_s:.0f} s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""

    @property
    def pids(self) -> list[int]:
        """Voilà's process and the service's: the roots of what the page costs."""
        return [p.pid for p in (self.process, self.service) if p is not None]

    def stop(self) -> None:
        for process in (self.process, self.service):
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


# --- memory ----------------------------------------------------------------------------------
def kernel_processes(server_pid: int) -> list[Any]:
    import psutil

    try:
        children = psutil.Process(server_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for child in children:
        try:
            if "ipykernel" in " ".join(child.cmdline()):
                out.append(child)
        except psutil.Error:
            continue
    return out


def memory(server_pid: int) -> dict[str, Any]:
    """Resident and unique MB of the server and of each kernel."""
    import psutil

    def mb(process: Any) -> tuple[float, float]:
        try:
            info = process.memory_full_info()
            return info.rss / 2**20, info.uss / 2**20
        except psutil.Error:
            return 0.0, 0.0

    server_rss, server_uss = mb(psutil.Process(server_pid))
    kernels = [mb(k) for k in kernel_processes(server_pid)]
    kernels = [k for k in kernels if k[0] > 0]
    return {
        "server_rss": server_rss,
        "server_uss": server_uss,
        "kernel_rss": [k[0] for k in kernels],
        "kernel_uss": [k[1] for k in kernels],
    }


def _tree(pid: int) -> list[Any]:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def has_torch(pid: int) -> bool:
    """Whether a process has libtorch mapped (a thin kernel must not)."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def pss(server_pid: int, service_pid: int | None) -> dict[str, Any]:
    """Proportional set size (files shared between processes counted once) of everything the
    dashboards cost: Voilà, its kernels, and the model service's processes."""
    import psutil

    def mb(process: Any) -> float:
        try:
            return float(process.memory_full_info().pss) / 2**20
        except (psutil.Error, AttributeError):
            return 0.0

    kernels = kernel_processes(server_pid)
    kernel_pids = {k.pid for k in kernels}
    server = sum(mb(p) for p in _tree(server_pid) if p.pid not in kernel_pids)
    service = sum(mb(p) for p in _tree(service_pid)) if service_pid else 0.0
    kernel_pss = [mb(k) for k in kernels]
    return {
        "server_pss": server,
        "service_pss": service,
        "kernel_pss": [k for k in kernel_pss if k > 0],
        "kernels_with_torch": sum(has_torch(k.pid) for k in kernels),
        "total_pss": server + service + sum(kernel_pss),
    }


def cpu_seconds(server_pid: int, service_pid: int | None) -> dict[str, float]:
    """CPU seconds used so far by the server side (Voilà, kernels, service) and by the
    visitors' Chromium, which on a real workshop runs on the visitors' own machines."""
    import psutil

    def total(processes: list[Any]) -> float:
        seconds = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
                seconds += times.user + times.system
            except psutil.Error:
                continue
        return seconds

    me = psutil.Process()
    browsers = [p for p in me.children(recursive=True) if "chrom" in p.name().lower()]
    server = _tree(server_pid) + (_tree(service_pid) if service_pid else [])
    return {"server_cpu_s": total(server), "browser_cpu_s": total(browsers)}


class PeakSampler(threading.Thread):
    """Samples the total unique memory once a second while visitors come and go."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.peak_mb = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(1.0):
            m = memory(self.server_pid)
            self.peak_mb = max(self.peak_mb, m["server_uss"] + sum(m["kernel_uss"]))

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


# --- the visitors ----------------------------------------------------------------------------
async def visit(
    browser: Any, url: str, record: Visit, timeout_s: float, held: asyncio.Event
) -> None:
    """Open the lab, run one round trip, then stay on the page until ``held`` is set."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    try:
        started = time.perf_counter()
        await page.goto(f"{url}/voila/render/{NOTEBOOK}")
        await page.get_by_role("button", name="Run").wait_for(state="visible")
        record.page_s = time.perf_counter() - started
        await page.locator("textarea").first.fill(SENTENCES[record.index % len(SENTENCES)])
        pressed = time.perf_counter()
        record.pressed_at = pressed
        await page.get_by_role("button", name="Run").click()
        done = page.locator("text=/✓ WER|⚠/").first
        await done.wait_for()
        status = (await done.inner_text()).strip()
        if status.startswith("✓"):
            record.finished_at = time.perf_counter()
            record.result_s = record.finished_at - pressed
        record.status = status
        record.error = "" if status.startswith("✓") else status
    except Exception as exc:  # a failed visitor is a figure of the report, not a crash
        text = str(exc).strip().splitlines()
        record.error = f"{type(exc).__name__}: {text[0] if text else ''}"
    try:
        await held.wait()
    finally:
        await context.close()


async def drive(url: str, sessions: int, timeout_s: float, on_all_done: Any) -> list[Visit]:
    """All visitors at once; ``on_all_done`` runs (memory is measured) once every visitor has a
    result or has failed, while all their pages are still open."""
    from playwright.async_api import async_playwright

    records = [Visit(i) for i in range(sessions)]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        held = asyncio.Event()
        tasks = [asyncio.create_task(visit(browser, url, r, timeout_s, held)) for r in records]
        try:
            deadline = time.monotonic() + timeout_s + 30
            while time.monotonic() < deadline and not all(
                r.result_s is not None or r.error for r in records
            ):
                await asyncio.sleep(0.5)
            await asyncio.get_running_loop().run_in_executor(None, on_all_done)
        finally:
            held.set()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=60)
            await browser.close()
    for r in records:
        if r.result_s is None and not r.error:
            r.error = "no result within the time limit"
    return records


# --- one run ---------------------------------------------------------------------------------
def run(
    sessions: int,
    timeout_s: float,
    pool_size: int | None = None,
    cull_idle_s: int = 0,
    proposed: bool = True,
    mode: str = "service",
    models: str = "bundled",
) -> Report:
    if not 1 <= sessions <= MAX_SESSIONS:
        raise ValueError(f"sessions must be between 1 and {MAX_SESSIONS}")
    if not CHROMIUM.exists():
        raise RuntimeError(f"No Chromium at {CHROMIUM}: apt-get install chromium.")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="speechlab-load-") as tmp:
        server = Server(pool_size, cull_idle_s, Path(tmp), proposed, mode, models)
        if pool_size is None:
            pool_size = served_pool_size()
        try:
            server.wait_ready(120)
            if pool_size > 0:  # let the pool fill, as a server does before a workshop starts
                deadline = time.monotonic() + 180
                while (
                    len(kernel_processes(server.process.pid)) < pool_size
                    and time.monotonic() < deadline
                ):
                    time.sleep(1)
                time.sleep(15)
            idle_kernels = len(kernel_processes(server.process.pid))
            sampler = PeakSampler(server.process.pid)
            sampler.start()
            held_memory: dict[str, Any] = {}

            def measure() -> None:
                held_memory.update(
                    cpu_seconds(server.process.pid, server.service.pid if server.service else None)
                )
                held_memory.update(memory(server.process.pid))
                held_memory.update(
                    pss(server.process.pid, server.service.pid if server.service else None)
                )

            visits = asyncio.run(drive(server.url, sessions, timeout_s, measure))
            sampler.stop()
        finally:
            server.stop()
    ok = [v for v in visits if v.result_s is not None and not v.error]
    failures = [f"visitor {v.index}: {v.error or 'no result'}" for v in visits if v not in ok]

    def median(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    def worst(values: list[float]) -> float | None:
        return max(values) if values else None

    def p95(values: list[float]) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    pressed = [v.pressed_at for v in visits if v.pressed_at is not None]
    finished = [v.finished_at for v in ok if v.finished_at is not None]
    span = (max(finished) - min(pressed)) if pressed and finished else 0.0

    pages = [v.page_s for v in visits if v.page_s is not None]
    results = [v.result_s for v in ok if v.result_s is not None]
    totals = [v.page_s + v.result_s for v in ok if v.page_s is not None and v.result_s]
    kernel_rss, kernel_uss = held_memory.get("kernel_rss", []), held_memory.get("kernel_uss", [])
    server_rss = held_memory.get("server_rss", 0.0)
    total_uss = held_memory.get("server_uss", 0.0) + sum(kernel_uss)
    return Report(
        sessions=sessions,
        held=len(ok),
        failures=failures,
        page_median_s=median(pages),
        page_worst_s=worst(pages),
        result_median_s=median(results),
        result_worst_s=worst(results),
        total_median_s=median(totals),
        total_worst_s=worst(totals),
        kernels=len(kernel_rss),
        kernel_rss_mb=[round(x, 1) for x in kernel_rss],
        kernel_uss_mb=[round(x, 1) for x in kernel_uss],
        server_rss_mb=round(server_rss, 1),
        total_rss_mb=round(server_rss + sum(kernel_rss), 1),
        total_uss_mb=round(total_uss, 1),
        peak_total_uss_mb=round(max(sampler.peak_mb, total_uss), 1),
        idle_kernels_before=idle_kernels,
        mode=mode,
        models=models,
        page_p95_s=p95(pages),
        result_p95_s=p95(results),
        results_per_min=round(60 * len(ok) / span, 2) if span > 0 else None,
        total_pss_mb=round(held_memory.get("total_pss", 0.0), 1),
        service_pss_mb=round(held_memory.get("service_pss", 0.0), 1),
        kernel_pss_mb=[round(x, 1) for x in held_memory.get("kernel_pss", [])],
        kernels_with_torch=int(held_memory.get("kernels_with_torch", 0)),
        server_cpu_s=round(held_memory.get("server_cpu_s", 0.0), 1),
        browser_cpu_s=round(held_memory.get("browser_cpu_s", 0.0), 1),
        wall_s=round(time.perf_counter() - started, 1),
        cpus=os.cpu_count() or 0,
        settings={
            "pool_size": pool_size,
            "cull_idle_timeout_s": cull_idle_s,
            "proposed_settings": proposed,
            "voila": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(server.command)),
        },
        visits=[asdict(v) for v in visits],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="ci")
    parser.add_argument("--sessions", type=int, help=f"visitors at once (1-{MAX_SESSIONS})")
    parser.add_argument("--timeout", type=float, help="seconds each visitor may wait")
    parser.add_argument(
        "--pool-size",
        type=int,
        help="preheated kernels for the lab (0: none; default: as voila.json)",
    )
    parser.add_argument("--cull-idle", type=int, default=0, help="cull idle kernels after s")
    parser.add_argument(
        "--as-is", action="store_true", help="without the settings proposed for make dashboard"
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="service",
        help="service: one shared model service; per-kernel: each kernel loads its own models",
    )
    parser.add_argument("--models", choices=MODEL_SETS, default="bundled")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    config = CONFIGS[args.config]
    report = run(
        sessions=args.sessions or config["sessions"],
        timeout_s=args.timeout or config["timeout_s"],
        pool_size=config["pool_size"] if args.pool_size is None else args.pool_size,
        cull_idle_s=args.cull_idle,
        proposed=not args.as_is,
        mode=args.mode,
        models=args.models,
    )
    for line in report.lines():
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(report), indent=1) + "\n")
    return 0 if report.held == report.sessions else 1
