"""Remove outputs, execution counts and widget state from the project's notebooks.

Notebooks are committed without outputs: diffs stay readable, the repository stays small, and
the test suite proves they run. ``--check`` changes nothing and exits 1 listing the notebooks
that still carry outputs.

    python tools/strip_outputs.py            # strip every notebook under notebooks/
    python tools/strip_outputs.py --check    # what CI runs
    python tools/strip_outputs.py a.ipynb    # only these
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TRANSIENT_METADATA = ("widgets", "execution", "papermill")


def notebook_paths(paths: list[str] | None = None) -> list[Path]:
    if paths:
        return [Path(p) for p in paths]
    return sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def stripped(notebook: dict) -> dict:
    """A copy of ``notebook`` (nbformat 4 JSON) without outputs or run state."""
    out = json.loads(json.dumps(notebook))
    for key in TRANSIENT_METADATA:
        out.get("metadata", {}).pop(key, None)
    for cell in out.get("cells", []):
        for key in TRANSIENT_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return out


def dirty_reasons(notebook: dict) -> list[str]:
    """Why a notebook is not clean, one line per cell or metadata key; empty when clean."""
    reasons = [
        f"notebook metadata has {key!r}"
        for key in TRANSIENT_METADATA
        if key in notebook.get("metadata", {})
    ]
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            reasons.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            reasons.append(f"cell {index} has an execution count")
    return reasons


def write(path: Path, notebook: dict) -> None:
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks (default: all under notebooks/)")
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    dirty = 0
    for path in notebook_paths(args.paths):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        reasons = dirty_reasons(notebook)
        if not reasons:
            continue
        dirty += 1
        if args.check:
            print(f"{path}: {'; '.join(reasons)}")
        else:
            write(path, stripped(notebook))
            print(f"stripped {path}")
    if args.check and dirty:
        print(f"{dirty} notebook(s) carry outputs: run `python tools/strip_outputs.py`.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
