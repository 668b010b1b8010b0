"""Sweep files: a base experiment config, fixed overrides and axes, expanded into validated runs.

A sweep file looks like::

    base: ../language/grammar.yaml     # or a list of configs: one more grid axis
    # a list entry may also carry overrides of its own, for that config only:
    #   base: [a.yaml, {config: b.yaml, set: {cortex.readout.rls_reg_per_feature: 0.1}}]
    set: {phases.train.steps: 2000}    # the same overrides for every run
    grid: {cortex.n_units: [64, 256]}  # cartesian product
    zip: {world.a: [1, 2], world.b: [x, y]}   # paired lists of equal length
    random: {n: 4, seed: 0, params: {cortex.lr: {loguniform: [1.0e-4, 1.0e-1]}}}
    seeds: 3                           # or a list [0, 7, 9]; sets `seed` in every run
    cluster: {queue: short, walltime: "01:00:00", cores: 4, memory: 8GB}

Every axis key is a dotted key path of the experiment config, applied exactly like
`neurosteer run --set key.path=value`. The axes combine as a cartesian product (bases x grid x
zip rows x random samples x seeds); a base's own `set` keys are recorded with the swept ones (a
results.csv column each). A run is identified by a short hash of its fully resolved
config, so the same point always lands in the same run directory.

Bad input (the sweep file's schema, its base files and axes, or any run's config) raises
`experiments.errors.InputError` with every problem as `FILE: key.path: message`; a config problem
caused by a key the sweep sets names the sweep file and section instead.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, conint, model_validator

from experiments.errors import InputError, Problems, did_you_mean

# The experiment config's top-level seed field, set by the `seeds` axis.
SEED_KEY = "seed"
RUN_ID_LENGTH = 12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Distribution(_Strict):
    """One random axis: exactly one of the fields is given."""

    uniform: Optional[tuple[float, float]] = None
    loguniform: Optional[tuple[float, float]] = None
    randint: Optional[tuple[int, int]] = None  # inclusive on both ends
    choice: Optional[list[Any]] = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Distribution":
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of uniform, loguniform, randint, choice (got {given or 'none'})")
        low_high = self.uniform or self.loguniform or self.randint
        if low_high is not None and low_high[0] > low_high[1]:
            raise ValueError(f"low > high in {low_high}")
        if self.loguniform is not None and self.loguniform[0] <= 0:
            raise ValueError("loguniform needs low > 0")
        return self

    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value as a plain Python number (or the chosen item)."""
        if self.uniform is not None:
            return float(rng.uniform(*self.uniform))
        if self.loguniform is not None:
            low, high = self.loguniform
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        if self.randint is not None:
            return int(rng.integers(self.randint[0], self.randint[1] + 1))
        return self.choice[int(rng.integers(len(self.choice)))]


class RandomAxis(_Strict):
    """`n` samples of all `params` at once, drawn from a generator seeded with `seed`."""

    n: conint(ge=1)
    seed: int = 0
    params: dict[str, Distribution] = Field(min_length=1)


class ClusterOptions(_Strict):
    """Batch-system options for the slurm and pbs engines (dask-jobqueue keyword names).

    `cores`, `memory` are per job; each job runs `processes` single-threaded workers
    (default: one per core). `workers` is the total number of worker processes to ask for.
    `local_directory` (workers' scratch space, and so the Brian2 cython cache) also applies to
    the local engine; unset there, the local workers' scratch is a temporary directory removed
    after the sweep, and spiking runs use the user's cython cache (`cortex.cache_dir`'s default).
    """

    queue: Optional[str] = None
    account: Optional[str] = None
    walltime: Optional[str] = None
    memory: Optional[str] = None
    cores: Optional[conint(ge=1)] = None
    processes: Optional[conint(ge=1)] = None
    workers: Optional[conint(ge=1)] = None
    job_extra_directives: list[str] = []
    job_script_prologue: list[str] = []
    local_directory: Optional[str] = None
    log_directory: Optional[str] = None
    interface: Optional[str] = None


class BaseEntry(_Strict):
    """One base config of a list, with overrides that apply to its runs only."""

    config: str
    set: dict[str, Any] = {}


class SweepFile(_Strict):
    """The schema of a sweep YAML file (see the module docstring)."""

    base: Union[str, list[Union[str, BaseEntry]]]
    set: dict[str, Any] = {}
    grid: dict[str, list[Any]] = {}
    zip: dict[str, list[Any]] = {}
    random: Optional[RandomAxis] = None
    seeds: Union[conint(ge=1), list[int], None] = None
    cluster: ClusterOptions = ClusterOptions()


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep: absolute base paths plus the validated file contents."""

    path: Path
    bases: tuple[Path, ...]
    spec: SweepFile

    @property
    def base_sets(self) -> tuple[dict[str, Any], ...]:
        """Each base's own overrides, in the order of `bases` (empty for a plain path)."""
        entries = [self.spec.base] if isinstance(self.spec.base, str) else self.spec.base
        return tuple({} if isinstance(e, str) else dict(e.set) for e in entries)

    @property
    def param_names(self) -> list[str]:
        """Swept key paths in column order (the seed comes separately), then the keys bases set."""
        names = list(self.spec.grid) + list(self.spec.zip)
        if self.spec.random is not None:
            names += list(self.spec.random.params)
        return names + [k for k in dict.fromkeys(k for s in self.base_sets for k in s) if k not in names]


@dataclass(frozen=True)
class RunPoint:
    """One run before resolution: which base, what the swept keys are set to, all overrides."""

    base: Path
    params: dict[str, Any]
    overrides: tuple[str, ...]
    base_index: int = 0   # which entry of the sweep's `base` list


@dataclass(frozen=True)
class Run:
    """One validated run: its identity is the hash of its resolved config."""

    run_id: str
    point: RunPoint
    seed: Any
    backend: str = "rate"
    #: the fully resolved config (what the shared-training plan compares phase by phase)
    resolved: dict = field(default_factory=dict, compare=False, repr=False)


def format_override(key: str, value: Any) -> str:
    """`key=value` with the value written as YAML, so that parsing it back gives `value` exactly."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9)
    # PyYAML ends a bare scalar document with an explicit end marker.
    return f"{key}={text.removesuffix(chr(10)).removesuffix('...').strip()}"


def run_id(resolved: dict) -> str:
    """Short stable hash of a resolved config (a JSON-able dict)."""
    blob = json.dumps(resolved, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:RUN_ID_LENGTH]


def _keys_at(loc: tuple) -> list[str]:
    """Field names valid at `loc` in a sweep file, for did-you-mean hints."""
    nested = {("cluster",): ClusterOptions, ("random",): RandomAxis}
    if len(loc) == 2 and loc[0] == "base":   # base.<i>.<key> of a {config, set} entry
        return list(BaseEntry.model_fields)
    model = nested.get(tuple(loc), Distribution if tuple(loc[:2]) == ("random", "params") else SweepFile)
    return list(model.model_fields)


def _pydantic_problems(path: Path, err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        if e["loc"][:1] == ("base",) and e["type"] == "string_type" and isinstance(e["input"], (dict, list)):
            continue   # the `base: path` reading of a list or of a {config, set} entry: not what was meant
        # drop pydantic's union branch tags (base.list[...].1.BaseEntry.config -> base.1.config)
        where = tuple(p for p in e["loc"] if not (isinstance(p, str) and (
            p in ("str", "BaseEntry") or p.startswith(("list[", "function-after")))))
        loc = ".".join(str(p) for p in where)
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown key" + did_you_mean(where[-1], _keys_at(where[:-1]))
        problems.append(f"{path}: {loc or '(top level)'}: {message}")
    return problems


def _read_model(path: Path, model: type[BaseModel]) -> Any:
    """Read YAML file `path` into `model`; raises `InputError` naming the file and keys."""
    try:
        data = yaml.safe_load(path.read_text())
        return model.model_validate(data if data is not None else {})
    except OSError as e:
        raise InputError([f"{path}: (file): {e.strerror}"]) from None
    except yaml.YAMLError as e:
        raise InputError([f"{path}: (file): invalid YAML: {e}"]) from None
    except ValidationError as e:
        raise InputError(_pydantic_problems(path, e)) from None


def load_cluster_profile(path: Path) -> ClusterOptions:
    """Read a site profile: a YAML file with the keys of a sweep's `cluster:` block."""
    return _read_model(Path(path), ClusterOptions)


def _sections(spec: SweepFile) -> list[tuple[str, Iterable[str]]]:
    """(section name, config keys it sets) for every part of a sweep file that sets keys for every run."""
    sections = [("set", spec.set), ("grid", spec.grid), ("zip", spec.zip)]
    if spec.random is not None:
        sections.append(("random.params", spec.random.params))
    if spec.seeds is not None:
        sections.append(("seeds", [SEED_KEY]))
    return sections


def _base_section(sweep: "Sweep", base_index: int) -> list[tuple[str, Iterable[str]]]:
    """The section of one base's own overrides (none for a plain path)."""
    keys = sweep.base_sets[base_index]
    return [(f"base.{base_index}.set", keys)] if keys else []


def load_sweep(path: Path) -> Sweep:
    """Parse and check a sweep file (schema, base files, axis shapes); raises `InputError`."""
    path = Path(path)
    spec = _read_model(path, SweepFile)
    problems = Problems(str(path))
    bases = [spec.base] if isinstance(spec.base, str) else list(spec.base)
    if not bases:
        problems.add(("base",), "give at least one config")
    resolved_bases = []
    for i, base in enumerate(bases):
        full = (path.parent / (base if isinstance(base, str) else base.config)).resolve()
        if not full.is_file():
            where = ("base",) if isinstance(spec.base, str) else ("base", i) if isinstance(base, str) else ("base", i, "config")
            problems.add(where, f"no such file: {full}")
        resolved_bases.append(full)
    for key, values in spec.grid.items():
        if not values:
            problems.add(("grid", key), "empty list")
    lengths = {len(v) for v in spec.zip.values()}
    if lengths == {0}:
        problems.add(("zip",), "empty lists")
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in spec.zip.items())
        problems.add(("zip",), f"lists must have equal lengths ({sizes})")
    if spec.seeds is not None and not isinstance(spec.seeds, int) and not spec.seeds:
        problems.add(("seeds",), "empty list")
    seen: dict[str, str] = {}
    for section, keys in _sections(spec):
        for key in keys:
            if key in seen:
                problems.add((section, key), f"already set in {seen[key]}")
            seen.setdefault(key, section)
    for i, base in enumerate(bases):
        for key in ([] if isinstance(base, str) else base.set):
            if key in seen:
                problems.add(("base", i, "set", key), f"already set in {seen[key]}")
    problems.raise_if_any()
    return Sweep(path=path, bases=tuple(resolved_bases), spec=spec)


def expand(sweep: Sweep) -> list[RunPoint]:
    """All run points in a fixed order: bases x grid x zip rows x random samples x seeds."""
    spec = sweep.spec
    grid_rows = [dict(zip(spec.grid, combo)) for combo in itertools.product(*spec.grid.values())]
    n_zip = len(next(iter(spec.zip.values()))) if spec.zip else 1
    zip_rows = [{k: v[i] for k, v in spec.zip.items()} for i in range(n_zip)]
    random_rows: list[dict[str, Any]] = [{}]
    if spec.random is not None:
        # One generator for the whole axis, drawn in file order: the same file gives the same runs.
        rng = np.random.default_rng(spec.random.seed)
        random_rows = [
            {key: dist.sample(rng) for key, dist in spec.random.params.items()} for _ in range(spec.random.n)
        ]
    if spec.seeds is None:
        seed_rows: list[dict[str, Any]] = [{}]
    else:
        seeds = range(spec.seeds) if isinstance(spec.seeds, int) else spec.seeds
        seed_rows = [{SEED_KEY: s} for s in seeds]

    fixed = [format_override(k, v) for k, v in spec.set.items()]
    points = []
    bases = enumerate(zip(sweep.bases, sweep.base_sets))
    for (i, (base, own)), g, z, r, s in itertools.product(bases, grid_rows, zip_rows, random_rows, seed_rows):
        params = {**g, **z, **r, **s}
        overrides = tuple(fixed + [format_override(k, v) for k, v in {**own, **params}.items()])
        points.append(RunPoint(base=base, params={**params, **own}, overrides=overrides, base_index=i))
    return points


def _attribute(problem: str, sweep: Sweep, base_index: int = 0) -> str:
    """Re-point a config problem caused by one of the sweep's keys at the sweep file.

    `experiments.config.load` reports `FILE: key.path: message`; when key.path is (inside) a key
    the sweep sets, the user has to fix the sweep file, so name that file and section instead.
    """
    parts = problem.split(": ", 2)
    if len(parts) != 3:
        return problem
    _, key_path, message = parts
    for section, keys in _base_section(sweep, base_index) + _sections(sweep.spec):
        for key in keys:
            if key_path == key or key_path.startswith(key + ".") or key.startswith(key_path + "."):
                label = section if section == "seeds" else f"{section}.{key}"
                message = message.removesuffix(" (from --set)")
                return f"{sweep.path}: {label}: {message} (config key {key_path})"
    return problem


def resolve(sweep: Sweep, points: list[RunPoint]) -> list[Run]:
    """Resolve every point through `experiments.config.load` before anything runs.

    Returns the runs, dropping points that resolve to the same config as an earlier one. Raises
    `InputError` with every distinct problem of every point.
    """
    from experiments import config  # imported here so that a sweep file can be checked alone (no registries)

    problems: list[str] = []
    runs: dict[str, Run] = {}
    for point in points:
        try:
            spec = config.load(point.base, list(point.overrides))
        except InputError as e:
            for problem in (_attribute(p, sweep, point.base_index) for p in e.problems):
                if problem not in problems:  # the same mistake shows up in every run
                    problems.append(problem)
            continue
        resolved = spec.resolved()
        rid = run_id(resolved)
        runs.setdefault(rid, Run(run_id=rid, point=point, seed=resolved.get(SEED_KEY), backend=spec.cortex.backend,
                                 resolved=resolved))
    if problems:
        raise InputError(problems)
    return list(runs.values())
