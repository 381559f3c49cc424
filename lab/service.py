"""One shared copy of each model per machine, served to every kernel through Dask distributed.

Without a service every process loads its own models (1-3 GB each). With one, a process asks the
service instead: :func:`lab.models.get_synthesizer` / :func:`~lab.models.get_recognizer` return
stand-ins whose ``synthesize`` / ``recognize`` run on the service's worker and give back the same
frozen result dataclasses, so :func:`lab.roundtrip`, sweeps and widgets work unchanged, and the
process itself never imports torch.

* ``speechlab service start`` (``make dashboard`` and ``binder/start`` run it) starts a scheduler
  and a worker on this machine; kernels find it through ``SPEECHLAB_SERVICE``
  (``tcp://127.0.0.1:8787``).
* In a notebook, :func:`use` opts in (``lab.service.use("tcp://host:8786")`` for any Dask cluster,
  GPU workers included; ``lab.service.use(None)`` goes back to loading models in the process).
* The worker keeps models under a memory budget (``--budget-mb``): least recently used models are
  forgotten and load again when asked for.
* When the service stops answering, the request says so in one sentence
  (:class:`ServiceUnavailableError`); with ``SPEECHLAB_SERVICE_AUTOSTART=1`` the next request
  starts a new one on the same local port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lab import worker
from lab.audio import Audio
from lab.errors import BackendError, LabError
from lab.results import Recognition, Synthesis

SERVICE_ENV = "SPEECHLAB_SERVICE"
"""Address of the model service (``tcp://127.0.0.1:8787``); unset: models load in the process."""
AUTOSTART_ENV = "SPEECHLAB_SERVICE_AUTOSTART"
"""``1``: when the local service is gone, the next request starts it again."""
PRELOAD_ENV = "SPEECHLAB_SERVICE_PRELOAD"
"""Comma-separated models an autostarted service loads before its first request."""
DEFAULT_PORT = 8787
DEFAULT_ADDRESS = f"tcp://127.0.0.1:{DEFAULT_PORT}"
REQUEST_TIMEOUT_S = 900.0
"""How long one request may wait: 30 visitors queued behind one synthesizer take minutes."""
START_TIMEOUT_S = 120.0

_UNAVAILABLE = (
    "The model service stopped answering; it restarts with the next request: press Run again."
)
_NOT_RUNNING = (
    "The model service at {address} is not running: start it with `speechlab service start` "
    "(make dashboard does), or call lab.service.use(None) to load models in this process."
)


class ServiceUnavailableError(LabError, ConnectionError):
    """The model service cannot be reached or stopped while answering."""


# --- which service, if any -----------------------------------------------------------------
_UNSET: Any = object()
_lock = threading.RLock()
_chosen: Any = _UNSET
"""What :func:`use` set: an address, a Client, None (in process); _UNSET: read the environment."""
_client: Any = None
_proxies: dict[tuple[str, str, str], Any] = {}


def use(target: Any = DEFAULT_ADDRESS) -> None:
    """Send model work to a service: an address (``tcp://host:port``), a ``dask.distributed``
    Client, or None to load models in this process again."""
    global _chosen, _client
    with _lock:
        _chosen = target
        if _client is not None and _client is not target:
            _close_quietly(_client)
        _client = target if _is_client(target) else None
        _proxies.clear()


def address() -> str | None:
    """The service this process uses, or None when models load in the process."""
    if os.environ.get(worker.IN_WORKER_ENV):
        return None
    with _lock:
        chosen = _chosen
    if chosen is _UNSET:
        return os.environ.get(SERVICE_ENV, "").strip() or None
    if _is_client(chosen):
        return str(chosen.scheduler.address)
    return str(chosen) if chosen else None


def active() -> bool:
    return address() is not None


def _is_client(value: Any) -> bool:
    return type(value).__name__ == "Client" and hasattr(value, "submit")


def _close_quietly(client: Any) -> None:
    def close() -> None:
        with contextlib.suppress(Exception):
            client.close(timeout=2)

    threading.Thread(target=close, daemon=True).start()


def _local_port(addr: str) -> int | None:
    url = urlparse(addr if "://" in addr else f"tcp://{addr}")
    if url.hostname in {"127.0.0.1", "localhost", "::1"} and url.port:
        return url.port
    return None


def running(addr: str = DEFAULT_ADDRESS) -> bool:
    """Whether something listens at the service's address."""
    return _listening(addr)


def _listening(addr: str, timeout: float = 1.0) -> bool:
    url = urlparse(addr if "://" in addr else f"tcp://{addr}")
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 0), timeout):
            return True
    except OSError:
        return False


def client() -> Any:
    """The connected ``distributed.Client`` (connecting, or starting the local service when
    ``SPEECHLAB_SERVICE_AUTOSTART`` allows, the first time)."""
    global _client
    addr = address()
    if addr is None:
        raise ServiceUnavailableError("No model service is in use (lab.service.use sets one).")
    with _lock:
        if _client is not None and getattr(_client, "status", "running") == "running":
            return _client
        if _client is not None:  # it was connected and lost the service: say so, once
            _close_quietly(_client)
            _client = None
            raise ServiceUnavailableError(_UNAVAILABLE)
        if not _listening(addr):
            port = _local_port(addr)
            if port is None or os.environ.get(AUTOSTART_ENV, "") != "1":
                raise ServiceUnavailableError(_NOT_RUNNING.format(address=addr))
            _autostart(port)
        from distributed import Client

        try:
            _client = Client(addr, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ServiceUnavailableError(_NOT_RUNNING.format(address=addr)) from exc
        return _client


def _forget_client() -> None:
    global _client
    with _lock:
        if _client is not None and not _is_client(_chosen):
            _close_quietly(_client)
            _client = None


def call(function: Callable[..., Any], *args: Any, timeout: float = REQUEST_TIMEOUT_S) -> Any:
    """Run ``function(*args)`` on the service and return its result.

    Errors the lab raises on purpose arrive as they are; a lost service becomes
    :class:`ServiceUnavailableError`, anything else a one-sentence :class:`BackendError`.
    """
    import concurrent.futures

    from distributed.comm.core import CommClosedError

    c = client()
    try:
        future = c.submit(function, *args, pure=False)
        return future.result(timeout=timeout)
    except LabError:
        raise
    except (
        OSError,
        CommClosedError,
        concurrent.futures.CancelledError,
        concurrent.futures.TimeoutError,
        TimeoutError,
    ) as exc:
        _forget_client()
        raise ServiceUnavailableError(_UNAVAILABLE) from exc
    except Exception as exc:
        if type(exc).__name__ == "KilledWorker":
            raise ServiceUnavailableError(
                "The model service's worker stopped while working (out of memory?); it has "
                "restarted: press Run again."
            ) from exc
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BackendError(f"The model service failed: {first}") from exc


# --- stand-ins for backends that live on the service ---------------------------------------
class _Remote:
    def __init__(self, info: worker.BackendInfo, request: str) -> None:
        self.info = info
        self.name = info.name
        self.sample_rate = info.sample_rate
        self.has_attention = info.has_attention
        self.has_emissions = info.has_emissions
        self.has_mel = info.has_mel
        self.untrained = info.untrained
        self.request = request
        """The name the service loads it under (registry name, hub id or folder)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.request!r} on {address()})"


class RemoteSynthesizer(_Remote):
    """A synthesizer loaded on the model service (same protocol as the local backends)."""

    def voices(self) -> tuple[str, ...]:
        return self.info.voices

    def synthesize(self, text: str, voice: Any = None) -> Synthesis:
        result: Synthesis = call(worker.synthesize, self.request, text, voice)
        return result


class RemoteRecognizer(_Remote):
    """A recognizer loaded on the model service; concurrent calls are batched there."""

    def recognize(
        self,
        audio: Audio,
        *,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> Recognition:
        result: Recognition = call(
            worker.recognize, self.request, audio, output_attentions, output_hidden_states
        )
        return result

    def recognize_batch(self, audios: list[Audio]) -> list[Recognition]:
        result: list[Recognition] = call(worker.recognize_batch, self.request, list(audios))
        return result


def remote(kind: str, name: str) -> RemoteSynthesizer | RemoteRecognizer:
    """A stand-in for ``name`` loaded on the service (loading it there if needed)."""
    addr = address() or ""
    key = (addr, kind, name)
    with _lock:
        if key in _proxies:
            return _proxies[key]
    info: worker.BackendInfo = call(worker.describe, kind, name)
    proxy: RemoteSynthesizer | RemoteRecognizer = (
        RemoteSynthesizer(info, name) if kind == "synthesizer" else RemoteRecognizer(info, name)
    )
    with _lock:
        _proxies[key] = proxy
    return proxy


def status(timeout: float = 10.0) -> dict[str, Any]:
    """What the service holds: ``loaded`` (key, size_mb, uses), ``budget_mb``, request counts."""
    result: dict[str, Any] = call(worker.status, timeout=timeout)
    return result


# --- starting and stopping -----------------------------------------------------------------
def _state_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / f"speechlab-service-{os.getuid()}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _autostart(port: int) -> None:
    """Start the local service on ``port`` unless another process is doing it; wait for it."""
    import fcntl

    preload = [n for n in os.environ.get(PRELOAD_ENV, "").split(",") if n.strip()]
    lock_path = _state_dir() / f"start-{port}.lock"
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # one starter; the others wait here, then see it
        try:
            if not _listening(f"tcp://127.0.0.1:{port}"):
                start(port=port, preload=preload, wait=True)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def start(
    port: int = DEFAULT_PORT,
    *,
    threads: int = 32,
    budget_mb: float | None = None,
    preload: Sequence[str] = (),
    separate_worker: bool = True,
    wait: bool = True,
    log: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``speechlab service serve`` in the background and (``wait``) until it answers.

    ``env``: the service's environment (default: this process's), e.g. its ``HF_HOME``."""
    command = [sys.executable, "-m", "lab.cli", "service", "serve", "--port", str(port)]
    command += ["--threads", str(threads)]
    if budget_mb:
        command += ["--budget-mb", str(budget_mb)]
    if preload:
        command += ["--preload", ",".join(preload)]
    if not separate_worker:
        command += ["--in-process"]
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != SERVICE_ENV}
    # dozens of request threads each get a malloc arena by default, and evicted models' memory
    # stays in them; two arenas and eager trimming give it back to the machine
    env.setdefault("MALLOC_ARENA_MAX", "2")
    env.setdefault("MALLOC_TRIM_THRESHOLD_", "65536")
    log_path = Path(log) if log else _state_dir() / f"service-{port}.log"
    with open(log_path, "ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    if wait:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ready(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ServiceUnavailableError(
                    f"The model service did not start on port {port} (see {log_path})."
                )
            time.sleep(0.2)
    return process


def _ready(port: int) -> bool:
    return (_state_dir() / f"ready-{port}").is_file() and _listening(f"tcp://127.0.0.1:{port}")


def stop(addr: str = DEFAULT_ADDRESS) -> bool:
    """Shut the service at ``addr`` down; False when nothing answered there."""
    if not _listening(addr):
        return False
    from distributed import Client

    with _lock:
        if address() == addr:
            _forget_client()
            _proxies.clear()
    with contextlib.suppress(Exception), Client(addr, timeout="5s", set_as_default=False) as c:
        c.shutdown()
    deadline = time.monotonic() + 20
    while _listening(addr) and time.monotonic() < deadline:
        time.sleep(0.2)
    port = _local_port(addr)
    if port is not None and _listening(addr):  # it did not leave when asked: end its process
        with contextlib.suppress(OSError, ValueError):
            pid = int((_state_dir() / f"ready-{port}").read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
    return True


def serve(
    port: int = DEFAULT_PORT,
    *,
    threads: int = 32,
    budget_mb: float | None = None,
    preload: Sequence[str] = (),
    separate_worker: bool = True,
) -> None:
    """Run the scheduler and one worker on 127.0.0.1 until stopped (the command behind
    ``speechlab service serve``). A separate worker process is restarted by its nanny if it
    dies; ``separate_worker=False`` keeps everything in one process (least memory)."""
    import asyncio

    os.environ.pop(SERVICE_ENV, None)
    # the pages enforce their allowlists before they ask; the service loads what they ask for
    os.environ.pop("SPEECHLAB_ALLOWED_MODELS", None)
    os.environ[worker.IN_WORKER_ENV] = "1"
    if budget_mb:
        os.environ["SPEECHLAB_MODEL_BUDGET_MB"] = str(budget_mb)
        from lab import model_cache

        model_cache.set_budget_mb(budget_mb)
    import dask
    from distributed import Client, LocalCluster

    ready = _state_dir() / f"ready-{port}"
    ready.unlink(missing_ok=True)
    dask.config.set(
        {
            "distributed.scheduler.allowed-failures": 1,
            "distributed.worker.memory.target": False,
            "distributed.worker.memory.spill": False,
            "distributed.worker.memory.pause": False,
            "distributed.worker.memory.terminate": False,
            "distributed.admin.system-monitor.gil.enabled": False,
        }
    )
    cluster = LocalCluster(
        n_workers=1,
        threads_per_worker=threads,
        processes=separate_worker,
        host="127.0.0.1",
        scheduler_port=port,
        dashboard_address=None,
        memory_limit=0,
    )
    names = [n.strip() for n in preload if n.strip()]
    if "default" in names:  # the pair the dashboards open with
        from lab.models import default_pair

        names = [*default_pair()[:2], *(n for n in names if n != "default")]
    if names:
        from lab.models import KNOWN_MODELS, RECOGNIZER, SYNTHESIZER

        pairs = [
            (KNOWN_MODELS[n].kind if n in KNOWN_MODELS else SYNTHESIZER, n)
            for n in names
            if n not in KNOWN_MODELS or KNOWN_MODELS[n].kind in (SYNTHESIZER, RECOGNIZER)
        ]
        with Client(cluster, set_as_default=False) as c:
            failed = c.submit(worker.preload, pairs, pure=False).result()
        for line in failed:
            print(f"not preloaded: {line}", flush=True)
    ready.write_text(f"{os.getpid()} {cluster.scheduler_address}")
    print(f"model service at {cluster.scheduler_address}", flush=True)

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        while not stopping.is_set() and cluster.status.name not in ("closed", "closing"):
            if cluster.scheduler is not None and cluster.scheduler.status.name in (
                "closed",
                "closing",
            ):
                break
            stopping.wait(0.5)
    finally:
        ready.unlink(missing_ok=True)
        with contextlib.suppress(Exception, asyncio.CancelledError):
            cluster.close(timeout=10)
