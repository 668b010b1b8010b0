"""cpp_standalone for open-loop runs: the whole experiment as one compiled simulation.

Why it pays only in open loop: with the cython runtime, Brian2 calls ~13 compiled code objects
from Python every 1 ms time step, and that per-step Python overhead, not the arithmetic, is most
of a run's cost. cpp_standalone runs the same loop in one C++ binary (~4x faster per simulated
second on our machines, see BRIAN2_NOTES), but it has two limits: every run is fixed when the
binary is built (a ``network_operation`` is silently skipped, so no closed loop), and a build
costs several seconds of code generation and compilation, so the simulation must be long.

Open-loop (grammar) input never depends on the cortex: every phase's strings can be drawn first
(the grammar streams are per replica and independent of the cortex). So ``simulate`` builds ONE
standalone project for the whole experiment: all input spikes and padding-gate spikes are set
once, and one ``run()`` covers all phases, the ``plastic`` flag following a per-step schedule
written at the start of every step (STDP and intrinsic plasticity switch at the phase boundaries
exactly as in the runtime path; one ``run()`` per phase would make Brian2 generate and compile
every code object once per run), then ``device.build`` writes the project into a fresh
directory, which we compile (reusing stored objects, see below) and run. The membrane-potential
probe comes back as a numpy array; the spikes stay on disk (``SpikeFile``: the binary's result files,
12 bytes per spike: 0.9 GB at 800 units for the shipped experiment, ~2.5 GB at 8,000 units x 5
replicas), and ``cortex.spiking.schedule`` reads them block by block for
``SpikingCortex.run_sequence``: readout, scoring and recording then do the same numpy work in the
same order as with the cython runtime. The files are read, not memory-mapped: the pages of a map
that have been read stay counted in the process's resident set (shared, file-backed) unless the
kernel reclaims them, so a replay through a map ended up holding the whole experiment's spikes.

Design choices:

- The network is built inside the standalone device (Brian2 objects belong to the device active
  when they are created) by the same ``build`` function as the runtime network, minus the
  closed-loop objects; values are handed over with ``Variable.set_value``, which both devices
  accept.
- Brian2's device is process-global: the previous device is restored afterwards
  (``device.reinit()``, then ``reset_device()``), even when the build fails, so later runtime
  networks in the same process (tests, in-process rate runs) are unaffected.
- Each run builds in its own directory under ``<cache_dir>/standalone/`` (parallel runs of a sweep
  never share one) and the directory is removed once the results are read. Brian2 reuses compiled
  objects only within one directory, so we keep them ourselves, in
  ``<cache_dir>/standalone/objects/``, keyed by a hash of the source file, every header of the
  project, the makefile (compiler flags), the Brian2 version and the CPU: runs of the same network
  structure then compile only the files that hold the run's sizes (``main.cpp``, ``objects.cpp``,
  the input synapses' creation, whose count is drawn per seed, and the plasticity schedule, whose
  length is the run's): the code of the network is built once for all seeds and every sweep point
  that changes no structure (``timings["compiled"]`` lists what a run compiled). The store may be
  deleted at any time. Brian2 names the code objects of a second network in one process
  ``..._1`` while the first one's objects are still alive, which would miss the store: the
  previous build is collected first.
- No Brian2-side randomness is used in open loop (inputs are drawn in numpy), so cython and
  standalone runs of the same seed simulate the same thing; they differ only by floating-point
  details of the two compiled codes.
"""
from __future__ import annotations

import gc
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

class SpikeFile:
    """The spikes of a finished simulation, left in the binary's result files: :meth:`between`
    reads one window at a time (two ``np.fromfile`` reads of that window, plus at most two reads of
    ``STRIDE`` times to place its ends). In memory: one time every ``STRIDE`` spikes (the index
    that places a window), never the files. The files go when this object does."""

    STRIDE = 1 << 16  # spikes per index mark: 512 KB of times read to place each end of a window

    def __init__(self, directory: Path, i_file: str, t_file: str):
        self.directory = directory
        self.i_path, self.t_path = directory / i_file, directory / t_file
        self.n = self.t_path.stat().st_size // 8
        if self.i_path.stat().st_size != 4 * self.n:
            raise ValueError(f"cpp_standalone: {i_file} and {t_file} hold different numbers of spikes")
        weakref.finalize(self, shutil.rmtree, str(directory), True)
        self.sorted = self._index()  # a SpikeMonitor records in time order; checked chunk by chunk
        if not self.sorted:  # never seen; sort once in memory and write the files back in order
            order = np.argsort(np.fromfile(self.t_path, np.float64), kind="stable")
            np.fromfile(self.t_path, np.float64)[order].tofile(self.t_path)
            np.fromfile(self.i_path, np.int32)[order].tofile(self.i_path)
            self._index()

    def _index(self) -> bool:
        """Read the times once, chunk by chunk: keep every STRIDE-th (``marks``); True if in order."""
        marks, last, ordered = [], -np.inf, True
        chunk = self.STRIDE * 16  # 8 MB of times at a time
        for lo in range(0, self.n, chunk):
            t = self._read(self.t_path, np.float64, lo, min(lo + chunk, self.n))
            ordered = ordered and t[0] >= last and not (np.diff(t) < 0).any()
            marks.append(t[::self.STRIDE].copy())  # a view would keep the whole chunk
            last = t[-1]
        self.marks = np.concatenate(marks) if marks else np.zeros(0)
        return ordered

    def __len__(self) -> int:
        return self.n

    @staticmethod
    def _read(path: Path, dtype, lo: int, hi: int) -> np.ndarray:
        """Elements lo..hi-1 of a raw array file, read into a new array."""
        dtype = np.dtype(dtype)
        if hi <= lo:
            return np.zeros(0, dtype)
        return np.fromfile(path, dtype, count=hi - lo, offset=lo * dtype.itemsize)

    def _position(self, t_s: float) -> int:
        """Number of spikes with time < t_s (``np.searchsorted(times, t_s)`` over the whole file)."""
        j = int(np.searchsorted(self.marks, t_s))  # spikes before mark j-1 are earlier, from mark j on not
        if j == 0:
            return 0
        lo = (j - 1) * self.STRIDE
        return lo + int(np.searchsorted(self._read(self.t_path, np.float64, lo, min(lo + self.STRIDE, self.n)), t_s))

    def between(self, t0_ms: float, t1_ms: float) -> tuple[np.ndarray, np.ndarray]:
        """(global index int32, time ms) of the spikes with t0_ms <= t < t1_ms, in time order."""
        # times lie on the dt grid and the bounds between grid points: seconds or ms give the same cut
        lo, hi = self._position(t0_ms * 1e-3), self._position(t1_ms * 1e-3)
        return self._read(self.i_path, np.int32, lo, hi), self._read(self.t_path, np.float64, lo, hi) * 1e3


@dataclass
class Recording:
    """What one standalone simulation hands back (times from the start of the simulation)."""

    spikes: SpikeFile | None  # every spike, on disk (None once replayed)
    v_mv: np.ndarray | None   # (T_total, K * n_v) membrane potential at each step's start
    bad: list = field(default_factory=list)  # state variables that ended non-finite
    bad_replicas: tuple = ()                  # the replicas they did so in
    timings: dict = field(default_factory=dict)


def simulate(p, K: int, n_inputs: int, n_sample: int, structure_rngs, input_spikes, gate_spikes,
             phases, cache: Path, running: np.ndarray) -> Recording:
    """Build and run the whole open-loop experiment as one cpp_standalone simulation.

    ``input_spikes`` / ``gate_spikes``: (indices, times_ms) of the input and gate generators over
    the whole experiment; ``phases``: ``(steps, plastic)`` per phase, in order; ``running``: (K,)
    which replicas run at the first step (the gate spikes handle every later change).
    """
    from brian2 import TimedArray, ms, prefs
    from brian2.codegen.cpp_prefs import get_compiler_and_args
    from brian2.devices.device import get_device, reset_device, set_device

    from cortex.spiking.build import build

    root = Path(cache) / "standalone"
    root.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    started = time.perf_counter()
    if _brian_objects_alive():  # a previous network's code objects would make Brian2 rename ours (see docstring)
        gc.collect()
    set_device("cpp_standalone", build_on_run=False)
    # Brian2 sets its run environment (LD_BIND_NOW=1 by default) in os.environ and never unsets it;
    # every later subprocess would then bind its symbols eagerly: sbatch's plugins fail to load
    # ("undefined symbol gres_ctld_job_alloc_whole_node"), so a Slurm sweep from this process hung
    run_env = {**prefs["devices.cpp_standalone.run_environment_variables"], **get_device().run_environment_variables}
    saved_env = {key: os.environ.get(key) for key in run_env}
    try:
        b = build(p, K, n_inputs, n_sample, structure_rngs, closed_loop=False)
        b.inp_gen.set_spikes(input_spikes[0], input_spikes[1] * ms, sorted=True)
        if not np.all(running):
            g = np.ones(b.layout.gid.size)
            g[b.layout.gid[~np.asarray(running, bool)].ravel()] = 0.0
            b.cx.variables["g"].set_value(g)
        has_gate = len(gate_spikes[0]) > 0
        if has_gate:
            b.gate_gen.set_spikes(gate_spikes[0], gate_spikes[1] * ms, sorted=True)
        for obj in b.gate:
            obj.active = has_gate
        namespace = {}
        flags = np.repeat([float(on) for _, on in phases], [steps for steps, _ in phases])
        if len(np.unique(flags)) > 1:
            # every run() call would generate (and compile) its own copy of every code object:
            # one run, with the plastic flag read from a per-step schedule at each step's start
            namespace["plastic_schedule"] = TimedArray(flags, dt=p.step_ms * ms, name="plastic_schedule")
            b.net.add(b.cx.run_regularly("plastic = plastic_schedule(t)", dt=p.step_ms * ms, when="start",
                                         name="cx_plastic_schedule"))
        b.cx.variables["plastic"].set_value(flags[0] if len(flags) else 1.0)
        b.net.run(len(flags) * p.step_ms * ms, namespace=namespace)
        dev = get_device()
        dev.build(directory=str(directory), compile=False, run=False, with_output=False)
        generated = time.perf_counter()
        store = root / "objects"
        keys, restored = _restore_objects(directory, store)
        reused = len(restored)
        compiler = get_compiler_and_args()[0]
        try:
            dev.compile_source(str(directory), compiler, False, False)
        except RuntimeError:
            if not reused:
                raise
            log.warning("cpp_standalone: compilation with stored objects failed; compiling everything")
            for obj in keys:
                (directory / obj).unlink(missing_ok=True)
            restored = set()
            dev.compile_source(str(directory), compiler, False, False)
        compiled = time.perf_counter()
        _save_objects(directory, store, keys)
        run_cmd = prefs["devices.cpp_standalone.run_cmd_unix"]
        prefs["devices.cpp_standalone.run_cmd_unix"] = _dying_with_us(run_cmd)
        try:
            dev.run(str(directory), None, with_output=False)
        finally:
            prefs["devices.cpp_standalone.run_cmd_unix"] = run_cmd
        ran = time.perf_counter()
        rec = _read(b, dev, Path(tempfile.mkdtemp(prefix="spikes-", dir=root)))
        rec.timings = {"generate_s": generated - started, "compile_s": compiled - generated,
                       "objects_reused": reused, "objects": len(keys), "run_s": ran - compiled,
                       "read_s": time.perf_counter() - ran,
                       "compiled": sorted(obj for obj in keys if obj not in restored)}
        log.info("cpp_standalone: %s", ", ".join(f"{k} {v:.2f}" for k, v in rec.timings.items() if k != "compiled"))
        del b
        return rec
    finally:
        get_device().reinit()
        reset_device()
        # the Brian2 objects hold the whole experiment's input spikes (and cycles keep them): free
        # them now rather than at the next build, before the replay allocates its blocks
        gc.collect()
        shutil.rmtree(directory, ignore_errors=True)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _dying_with_us(run_cmd) -> list[str]:
    """Brian2's command for the binary, run through util-linux's ``setpriv --pdeathsig KILL`` where
    there is one: Linux then kills the simulation when this process dies. A sweep's run process is
    killed with its worker (a stopped sweep, a lost worker: ``experiments.sweep.task``), and without
    this its binary, a child Brian2 starts with ``subprocess.call``, went on to the end of the
    simulation as an orphan (seen: an hour-long run kept a core busy after its sweep was stopped).
    Elsewhere (no setpriv: macOS) the command is Brian2's own."""
    cmd = [run_cmd] if isinstance(run_cmd, str) else list(run_cmd)
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "KILL", *cmd] if setpriv else cmd


def _brian_objects_alive() -> bool:
    """Whether a Brian2 object other than those Brian2 creates at import (the default clock and
    network) still exists, garbage not yet collected included: only then can a collection stop
    Brian2 renaming our code objects. Each collection walks every object of the process (~0.1 s
    in a benchmark process at 8,000 units), and after the previous build's own collection (at
    the end of ``simulate``) there is usually nothing left to collect."""
    from brian2.core.names import Nameable

    return any(obj is not None and getattr(obj, "name", None) not in ("defaultclock", "magicnetwork")
               for obj in (ref() for ref in Nameable.__instances__()))


def _read(b, dev, keep: Path) -> Recording:
    """Spikes (their result files moved to ``keep``), membrane potentials and final-state check
    of the finished simulation."""
    try:
        names = []
        for var in (b.spk_all.variables["i"], b.spk_all.variables["t"]):
            names.append(dev.get_array_filename(var))
            os.replace(Path(dev.results_dir) / names[-1], keep / names[-1])
        spikes = SpikeFile(keep, *names)
    except BaseException:
        shutil.rmtree(keep, ignore_errors=True)
        raise
    v = None
    if b.v_probe is not None:
        v = (np.asarray(b.v_probe.v_[:]).T * 1e3).astype(np.float32)  # (T_total, K * n_v)
    from cortex.spiking.monitors import nonfinite_state

    bad, replicas = nonfinite_state(b)
    return Recording(spikes=spikes, v_mv=v, bad=bad, bad_replicas=replicas)


def _project_sources(directory: Path) -> tuple[list[str], list[str], bytes]:
    """Sources and headers the project's makefile lists, and the makefile itself."""
    makefile = (directory / "makefile").read_bytes()
    lists = {}
    for line in makefile.decode().splitlines():
        for name in ("SRCS", "H_SRCS"):
            if line.startswith(f"{name} = "):
                lists[name] = line.split("=", 1)[1].split()
    return lists.get("SRCS", []), lists.get("H_SRCS", []), makefile


def _object_keys(directory: Path) -> dict[str, str]:
    """Object file (relative path; and ``make.deps``) -> key of everything it depends on."""
    import platform

    import brian2

    sources, headers, makefile = _project_sources(directory)
    common = hashlib.sha256(makefile)
    common.update(f"{brian2.__version__}|{platform.machine()}|{_cpu_model()}".encode())
    for name in sorted(headers):
        common.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    keys, includes = {}, hashlib.sha256(makefile)
    for name in sources:
        text = (directory / name).read_bytes()
        h = common.copy()
        h.update(name.encode() + b"\0" + text)
        keys[str(Path(name).with_suffix(".o"))] = h.hexdigest()
    for name in sorted(sources + headers):
        text = (directory / name).read_bytes()
        includes.update(name.encode() + b"\0" + b"\n".join(line for line in text.splitlines() if line.startswith(b"#include")))
    # make's dependency list (the preprocessor over every source, ~2 s) depends only on the includes
    keys["make.deps"] = includes.hexdigest()
    return keys


def _cpu_model() -> str:
    """The CPU model (objects are compiled with -march=native)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "flags")):
                return line
    except OSError:
        pass
    return ""


def _restore_objects(directory: Path, store: Path) -> tuple[dict[str, str], set[str]]:
    """Copy stored objects whose key matches into the project, newer than every source, so make
    skips them; returns the keys and the objects restored."""
    keys = _object_keys(directory)
    now = time.time() + 1.0
    reused = set()
    for obj, key in keys.items():
        cached = store / f"{key}{Path(obj).suffix}"
        if cached.is_file():
            try:
                shutil.copyfile(cached, directory / obj)
                os.utime(directory / obj, (now, now))
                reused.add(obj)
            except OSError:
                (directory / obj).unlink(missing_ok=True)
    return keys, reused


def _save_objects(directory: Path, store: Path, keys: dict[str, str]) -> None:
    """Keep the project's compiled objects for later runs (atomic, safe between processes)."""
    store.mkdir(parents=True, exist_ok=True)
    for obj, key in keys.items():
        target = store / f"{key}{Path(obj).suffix}"
        if target.exists() or not (directory / obj).is_file():
            continue
        tmp = store / f".{key}.{os.getpid()}.tmp"
        try:
            shutil.copyfile(directory / obj, tmp)
            os.replace(tmp, target)
        except OSError:
            tmp.unlink(missing_ok=True)
