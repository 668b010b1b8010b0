"""Saved experiment states: one HDF5 file per phase end, to resume a run or branch from it.

A run directory keeps ``states/<phase>.h5`` after each phase (``recording.save_state``, on by
default; a state larger than ``recording.state_max_mb`` is not saved, and ``meta.json`` says so).
Each file holds what the next phase needs to continue exactly where that phase stopped:

* root attributes: ``format`` ("neurosteer-state"), ``format_version``, ``phase`` (name),
  ``phase_index`` (0-based), ``config_hash`` (the run's whole resolved config), ``prefix_hash``
  and ``prefix_config`` (JSON: the part of the config that decides the state: seed, replicas,
  world without the variants of later phases, cortex, subcortex, ``recording.sample_units`` and
  the phases up to this one), ``metrics`` (JSON: metrics.json's blocks of the phases so far),
  ``created``, ``neurosteer`` (version), ``content_sha256`` (checksum of everything below);
* group ``protocol``: the protocol's state tree (``cortex.base.capture_state``): the cortex
  (weights, readout, heads, eligibility traces, membrane state, step counter, its generators), the
  subcortex (drive levels), the world (each replica's generator and trial) and the phase counters.
  Arrays are datasets; every other leaf is a JSON attribute; a numpy Generator's
  ``bit_generator.state`` is JSON ``{"__rng__": {...}}``. Nothing is pickled;
* group ``metrics_tables``: the per-phase tables that cross-phase metrics still need.

A state fits a config when the config's prefix up to that phase hashes the same; otherwise it is
refused with the keys that differ (bad input: exit 2, nothing written). A file that cannot be
read or whose checksum fails is refused the same way.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from cortex.base import RngState
from experiments.errors import InputError

FORMAT, FORMAT_VERSION = "neurosteer-state", 1
STATES_DIR = "states"


class StateError(InputError):
    """A state file that cannot be used (unreadable, corrupted, or not made for this config)."""

    def __init__(self, message: str):
        super().__init__([message])


# ------------------------------------------------------------------------------- config hashes
def config_hash(cfg: dict) -> str:
    """Stable hash (hex, 16) of a JSON-able config."""
    blob = json.dumps(cfg, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prefix_config(resolved: dict, n_phases: int) -> dict:
    """The part of a resolved config that decides the state after its first ``n_phases`` phases."""
    phases = list(resolved.get("phases", []))[:n_phases]
    world = dict(resolved.get("world", {}))
    used = {p.get("variant") for p in phases}
    if isinstance(world.get("variants"), dict):
        world["variants"] = {k: v for k, v in world["variants"].items() if k in used}
    recording = resolved.get("recording", {}) or {}
    return {"seed": resolved.get("seed"), "replicas": resolved.get("replicas"), "world": world,
            "cortex": resolved.get("cortex"), "subcortex": resolved.get("subcortex"),
            "recording": {"sample_units": recording.get("sample_units")}, "phases": phases}


def _flatten(value, path: str = "") -> dict:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{path}.{k}" if path else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
        out = {}
        for v in value:
            out.update(_flatten({k: x for k, x in v.items() if k != "name"}, f"{path}.{v['name']}"))
        return out
    return {path: value}


def config_differences(saved: dict, current: dict, limit: int = 8) -> list[str]:
    """``key.path: A in the state, B in this config`` for each leaf that differs."""
    a, b = _flatten(saved), _flatten(current)
    lines = []
    for key in list(dict.fromkeys([*a, *b])):
        if a.get(key, "(absent)") != b.get(key, "(absent)"):
            lines.append(f"{key}: {json.dumps(a.get(key, '(absent)'))} in the state, "
                         f"{json.dumps(b.get(key, '(absent)'))} in this config")
    return lines[:limit] + ([f"... and {len(lines) - limit} more"] if len(lines) > limit else [])


# ------------------------------------------------------------------------------ file format
def _json(value) -> str:
    def plain(v):
        if isinstance(v, RngState):
            return {"__rng__": dict(v)}
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, np.ndarray):
            raise TypeError("array inside a JSON leaf")
        return v
    return json.dumps(plain(value))


def _unjson(text: str):
    return json.loads(text, object_hook=lambda d: RngState(d["__rng__"]) if set(d) == {"__rng__"} else d)


def _has_array(value) -> bool:
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, dict) and not isinstance(value, RngState):
        return any(_has_array(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_array(v) for v in value)
    return False


def _write_tree(group, tree: dict, digest, path: str) -> None:
    for key in sorted(tree):  # the order the reader checksums in
        value, where = tree[key], None
        where = f"{path}/{key}"
        if isinstance(value, np.ndarray):
            group.create_dataset(key, data=value)
            digest.update(f"{where}|{value.dtype.str}|{value.shape}|".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif (isinstance(value, dict) and not isinstance(value, RngState)) or \
                (isinstance(value, (list, tuple)) and _has_array(value)):
            sub = group.create_group(key, track_order=True)
            if isinstance(value, (list, tuple)):
                sub.attrs["__list__"] = len(value)
                digest.update(f"{where}|list{len(value)}|".encode())
                value = {str(i): v for i, v in enumerate(value)}
            _write_tree(sub, value, digest, where)
        else:
            text = _json(value)
            group.attrs[key] = text
            digest.update(f"{where}|json|{text}|".encode())


def _read_tree(group, digest, path: str):
    import h5py

    out: dict = {}
    names = list(group.keys()) + [a for a in group.attrs.keys() if a != "__list__"]
    for key in sorted(names):  # the checksum walks in name order, whatever the file's order
        where = f"{path}/{key}"
        if key in group.attrs and key not in group:
            text = group.attrs[key]
            text = text.decode() if isinstance(text, bytes) else str(text)
            digest.update(f"{where}|json|{text}|".encode())
            out[key] = _unjson(text)
        elif isinstance(group[key], h5py.Dataset):
            value = np.asarray(group[key][()])
            digest.update(f"{where}|{value.dtype.str}|{value.shape}|".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
            out[key] = value
        else:
            sub = group[key]
            if "__list__" in sub.attrs:
                n = int(sub.attrs["__list__"])
                digest.update(f"{where}|list{n}|".encode())
                items = _read_tree(sub, digest, where)
                out[key] = [items[str(i)] for i in range(n)]
            else:
                out[key] = _read_tree(sub, digest, where)
    return out


def tree_bytes(tree) -> int:
    """Bytes of the arrays in a state tree (what a state file mostly is)."""
    if isinstance(tree, np.ndarray):
        return tree.nbytes
    if isinstance(tree, dict) and not isinstance(tree, RngState):
        return sum(tree_bytes(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return sum(tree_bytes(v) for v in tree)
    return 0


def _split_tables(metrics: dict) -> tuple[dict, dict]:
    plain, tables = {}, {}
    for phase, block in metrics.items():
        block = dict(block)
        if "tables" in block:
            tables[phase] = block.pop("tables")
        plain[phase] = block
    return plain, tables


@dataclass
class SavedState:
    """A state file read back: its header attributes, the protocol's tree, the metrics so far."""

    path: Path
    header: dict
    tree: dict
    metrics: dict

    @property
    def phase(self) -> str:
        return self.header["phase"]

    @property
    def phase_index(self) -> int:
        return int(self.header["phase_index"])


def write_state(path: Path, tree: dict, metrics: dict, resolved: dict, phase: str, phase_index: int) -> int:
    """Write one phase end's state file atomically; returns its size in bytes."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plain, tables = _split_tables(metrics)
    prefix = prefix_config(resolved, phase_index + 1)
    try:
        version = metadata.version("neurosteer")
    except metadata.PackageNotFoundError:
        version = "unknown"
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "phase": phase, "phase_index": int(phase_index),
              "config_hash": config_hash(resolved), "prefix_hash": config_hash(prefix),
              "prefix_config": json.dumps(prefix, default=str), "metrics": json.dumps(plain),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "neurosteer": version}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    for key in sorted(header):
        digest.update(f"/{key}|{header[key]}|".encode())
    with h5py.File(tmp, "w", track_order=True) as f:
        for key, value in header.items():
            f.attrs[key] = value
        body = {"protocol": tree, "metrics_tables": tables}
        for name in sorted(body):
            _write_tree(f.create_group(name, track_order=True), body[name], digest, f"/{name}")
        f.attrs["content_sha256"] = digest.hexdigest()
    os.replace(tmp, path)
    return path.stat().st_size


def read_state(path: Path) -> SavedState:
    """Read a state file and check its checksum; raises :class:`StateError`."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            if attrs.get("format") != FORMAT:
                raise StateError(f"{path}: (state): not a neurosteer state file")
            if int(attrs.get("format_version", -1)) != FORMAT_VERSION:
                raise StateError(f"{path}: (state): format version {attrs.get('format_version')}, "
                                 f"this neurosteer reads {FORMAT_VERSION}")
            digest = hashlib.sha256()
            header = {k: attrs[k] for k in attrs if k != "content_sha256"}
            for key in sorted(header):
                value = header[key]
                value = value.item() if isinstance(value, np.generic) else value
                digest.update(f"/{key}|{value}|".encode())
            body = {name: _read_tree(f[name], digest, f"/{name}") for name in sorted(f.keys())}
    except StateError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, ValueError... on damage
        raise StateError(f"{path}: (state): unreadable state file: {type(exc).__name__}: {exc}") from None
    if digest.hexdigest() != attrs.get("content_sha256"):
        raise StateError(f"{path}: (state): checksum mismatch: the file is corrupted")
    metrics = json.loads(header["metrics"])
    for phase, tables in body.get("metrics_tables", {}).items():
        metrics[phase]["tables"] = tables
    header["phase_index"] = int(header["phase_index"])
    return SavedState(path, header, body.get("protocol", {}), metrics)


# ------------------------------------------------------------------------------ run directories
def state_path(run_dir: Path, phase: str) -> Path:
    return Path(run_dir) / STATES_DIR / f"{phase}.h5"


def saved_phases(run_dir: Path, resolved: dict) -> list[str]:
    """Names of the phases (in config order) whose state file exists in ``run_dir``."""
    return [p["name"] for p in resolved.get("phases", []) if state_path(run_dir, p["name"]).exists()]


def check_fits(saved: SavedState, spec) -> None:
    """Refuse (StateError) a state that was not made by a run of ``spec``'s config up to its phase."""
    resolved = spec.resolved()
    names = [p.name for p in spec.phases]
    where = f"{saved.path}: (state)"
    if saved.phase not in names or names.index(saved.phase) != saved.phase_index:
        raise StateError(f"{where}: saved after phase {saved.phase!r} (number {saved.phase_index + 1}), "
                         f"which is not phase number {saved.phase_index + 1} of this config ({', '.join(names)})")
    if saved.phase_index + 1 >= len(names):
        raise StateError(f"{where}: saved after the last phase ({saved.phase}): nothing is left to run")
    prefix = prefix_config(resolved, saved.phase_index + 1)
    if config_hash(prefix) != saved.header["prefix_hash"]:
        diff = config_differences(json.loads(saved.header["prefix_config"]), json.loads(json.dumps(prefix, default=str)))
        raise InputError([f"{where}: made by a different config up to phase {saved.phase}:"] + [f"  {d}" for d in diff])


def start_from(spec, source: str) -> SavedState:
    """``RUN_DIR[:PHASE]`` -> the checked state (PHASE defaults to the last one saved)."""
    run_dir, _, phase = str(source).rpartition(":") if ":" in str(source) else (str(source), "", "")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise StateError(f"{source}: (--from): not a run directory")
    if not phase:
        names = saved_phases(run_dir, {"phases": [{"name": p.name} for p in spec.phases]})
        if not names:
            raise StateError(f"{source}: (--from): no saved state in {run_dir / STATES_DIR}")
        phase = names[-1]
    path = state_path(run_dir, phase)
    if not path.exists():
        have = sorted(p.stem for p in (run_dir / STATES_DIR).glob("*.h5"))
        raise StateError(f"{source}: (--from): no state saved after phase {phase!r}"
                         f" (saved: {', '.join(have) or 'none'})")
    saved = read_state(path)
    check_fits(saved, spec)
    return saved


def metrics_copy(metrics: dict) -> dict:
    """A deep copy of metrics blocks (tables included)."""
    return copy.deepcopy(metrics)
