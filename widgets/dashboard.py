"""What every dashboard page opens with: the models it offers, its header, and errors as one
sentence (visitors never see a traceback). The pages in ``notebooks/dashboards`` call these.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import ipywidgets as w

import lab.models
from lab.errors import LabError

MODELS_ENV = "SPEECHLAB_DASHBOARD_MODELS"
"""Path of a JSON file {"synthesizers": [...], "recognizers": [...], "voices": {label: [...]}}
naming exactly the models the pages offer (e.g. tiny checkpoints for the browser tests)."""


def one_sentence(exc: BaseException) -> str:
    """What a visitor sees instead of a traceback, as HTML."""
    if isinstance(exc, LabError):
        text = " ".join(str(exc).split())
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        text = f"Something went wrong ({type(exc).__name__}: {first})."
    return f'<p class="speechlab-error" style="color:#c62828">⚠ {html.escape(text)}</p>'


def error_box(exc: BaseException) -> w.HTML:
    return w.HTML(one_sentence(exc))


def offered_models() -> tuple[list[str], list[str], dict[str, Any] | None, str | None]:
    """(synthesizers, recognizers, voices, notice) for a page; sets the allowlist to them."""
    config_path = os.environ.get(MODELS_ENV)
    if config_path:
        config = json.loads(Path(config_path).read_text())
        synths, recs = list(config["synthesizers"]), list(config["recognizers"])
        lab.models.set_allowlist([*synths, *recs])
        return synths, recs, config.get("voices"), None
    if lab.models.get_allowlist() is None:  # SPEECHLAB_ALLOWED_MODELS unset: registry names only
        lab.models.set_allowlist(lab.models.KNOWN_MODELS)
    allowed = lab.models.get_allowlist() or frozenset()
    synth, rec, notice = lab.models.default_pair()
    usable = [m for m in lab.models.list_models() if (m.cached or m.bundled) and m.name in allowed]

    def names(first: str, kind: str) -> list[str]:
        ordered = dict.fromkeys([first] + [m.name for m in usable if m.kind == kind])
        return [n for n in ordered if n in allowed]

    synths, recs = names(synth, lab.models.SYNTHESIZER), names(rec, lab.models.RECOGNIZER)
    if not synths or not recs:
        missing = "synthesizer" if not synths else "recognizer"
        raise LabError(
            f"No {missing} that is allowed here is installed: add one to SPEECHLAB_ALLOWED_MODELS "
            f"(now {', '.join(sorted(allowed))}) or download one with `speechlab models download`."
        )
    return synths, recs, None, notice


def label(name: Any) -> str:
    """How a model is named on a page: a folder by its own name, never the server's path."""
    return Path(name).name if Path(str(name)).is_absolute() else str(name)


def header(synths: list[str], recs: list[str], notice: str | None) -> w.HTML:
    """The models a page offers, and the offline notice when the bundled pair stands in."""
    lines = [
        f"<b>{kind}:</b> {html.escape(', '.join(label(n) for n in names))}"
        for kind, names in (("Synthesizers", synths), ("Recognizers", recs))
        if names
    ]
    if notice:
        lines.append(f'<span class="speechlab-notice">{html.escape(notice)}</span>')
    return w.HTML("<p class='speechlab-models'>" + "<br>".join(lines) + "</p>")


def service_panel() -> w.HTML:
    """What the shared model service holds now (the landing page shows it)."""
    from lab import service

    if not service.active():
        return w.HTML(
            "<p class='speechlab-service'>Models load in each page's own process "
            "(no shared model service is configured).</p>"
        )
    try:
        state = service.status()
    except LabError as exc:
        return error_box(exc)
    budget = f"{state['budget_mb']:,.0f} MB" if state.get("budget_mb") else "no limit"
    loaded = state.get("loaded") or []
    if loaded:
        rows = "".join(
            f"<li>{html.escape(_loaded_label(m['key']))}: {m['size_mb']:,.0f} MB</li>"
            for m in reversed(loaded)
        )
        held = f"<ul>{rows}</ul>"
    else:
        held = "<p>No model is loaded yet: the first page that needs one loads it.</p>"
    total = sum(m["size_mb"] for m in loaded)
    return w.HTML(
        "<div class='speechlab-service'><h3>Shared model service</h3>"
        f"<p>Every page uses one copy of each model: {len(loaded)} loaded, "
        f"{total:,.0f} MB of weights (budget {budget}; the model used longest ago makes room "
        "for a new one).</p>"
        f"{held}</div>"
    )


def _loaded_label(key: str) -> str:
    kind, _, rest = key.partition(" ")
    return f"{kind}: " + " + ".join(label(part) for part in rest.split(" "))
