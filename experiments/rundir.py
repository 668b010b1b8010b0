"""The run directory's plumbing: where it goes, atomic writes, and the provenance every run saves.

Both the runner (one run) and the sweep (its manifest and ``results.csv``) write through
:func:`write_atomic`, so a reader (or a crash) never sees half a file.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np

from experiments.errors import InputError


class OutputDirError(InputError):
    """The output directory cannot be used (exists and is not empty, or is not writable): bad input."""

    def __init__(self, message: str):
        super().__init__([message])


def prepare_out_dir(out_dir: str | Path) -> Path:
    """Create ``out_dir`` (must be absent or empty). Raises :class:`OutputDirError` if unusable."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise OutputDirError(f"{out_dir}: output directory exists and is not empty (refusing to overwrite)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise OutputDirError(f"{out_dir}: output directory is not writable: {exc.strerror or exc}") from None
    return out_dir


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    write_atomic(path, json.dumps(data, indent=2, allow_nan=False, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def git_info() -> dict:
    """Git hash of the code that ran, and whether the tree had uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return {"hash": "unknown", "dirty": None}
    if head.returncode != 0:
        return {"hash": "unknown", "dirty": None}
    return {"hash": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def versions(spiking: bool) -> dict:
    out = {"python": platform.python_version()}
    names = ["neurosteer", "numpy", "scipy", "pydantic", "h5py", "pyyaml"] + (["brian2", "cython"] if spiking else [])
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
