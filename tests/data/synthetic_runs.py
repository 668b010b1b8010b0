"""Small synthetic run directories for the plotting tests, written with h5py directly.

Each builder writes what the runner writes (config.yaml, meta.json, metrics.json, traces.h5) with
the recorder's layout, chunking and compression, and signals shaped like the real ones (a learning
curve that falls toward the optimum, sparse rewards, a dopamine dip after a shift), so the figures
can be judged by eye as well as by the tests.
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import yaml

SYMBOLS = ["B", "T", "P", "S", "X", "V", "E"]
# Reber grammar (Cleeremans et al. 1989): state -> [(symbol, next state)], each branch p = 0.5.
REBER = {0: [("B", 1)], 1: [("T", 2), ("P", 3)], 2: [("S", 2), ("X", 4)], 3: [("T", 3), ("V", 5)],
         4: [("X", 3), ("S", 6)], 5: [("P", 4), ("V", 6)], 6: [("E", None)]}


def _chunks(shape, itemsize, axis=1):
    per_step = itemsize * max(1, int(np.prod(shape)) // max(1, shape[axis]))
    chunks = list(shape)
    chunks[axis] = max(1, min(4096, (1 << 20) // per_step))
    return tuple(max(1, c) for c in chunks)


def put(group: h5py.Group, name: str, array, units: str = "", axis: int = 1, **attrs):
    """Write one dataset the way ``experiments.recording.Recorder`` does (chunked, gzip 1, shuffle)."""
    array = np.asarray(array)
    ds = group.create_dataset(name, data=array, chunks=_chunks(array.shape, array.dtype.itemsize, axis),
                              maxshape=tuple(None if i == axis else s for i, s in enumerate(array.shape)),
                              compression="gzip", compression_opts=1, shuffle=True)
    if units:
        ds.attrs["units"] = units
    for key, value in attrs.items():
        ds.attrs[key] = value
    return ds


def write_dir(run_dir: Path, config: dict, metrics: dict, n_replicas: int, **meta) -> h5py.File:
    """config.yaml, meta.json, metrics.json; returns the open traces.h5 for the caller to fill."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    meta = {"seed": 1, "replicas": n_replicas, "backend": "rate", "git_hash": "0123abc",
            "wall_time_s": 1.5, "command": "neurosteer run test.yaml", **meta}
    (run_dir / "meta.json").write_text(json.dumps(meta))
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    h5 = h5py.File(run_dir / "traces.h5", "w")
    h5.attrs["format_version"] = 1
    h5.attrs["n_replicas"] = n_replicas
    h5.attrs["backend"] = meta["backend"]
    return h5


def add_phase(h5: h5py.File, name: str, kind: str, start_step: int, step_ms: float = 1.0,
              plastic: bool = True, **attrs) -> h5py.Group:
    phases = json.loads(h5.attrs.get("phases", "[]"))
    group = h5.create_group(name)
    group.attrs.update(dict(index=len(phases), kind=kind, start_step=start_step, step_ms=step_ms,
                            plastic=plastic, **attrs))
    h5.attrs["phases"] = json.dumps(phases + [name])
    return group


# -- sequence world (embedded Reber) -----------------------------------------------------------
def embedded_reber(n_steps: int, rng: np.random.Generator):
    """Symbol ids, the exact next-symbol distribution at each step (n_steps, n), and the long-range
    group (>= 0 at the second-to-last symbol of each string, which repeats the second one)."""
    ids = {s: i for i, s in enumerate(SYMBOLS)}

    def dist(*symbols):
        p = np.zeros(len(SYMBOLS))
        p[[ids[s] for s in symbols]] = 1.0 / len(symbols)
        return p

    seq, nxt, group = [], [], []
    while len(seq) < n_steps:
        outer = str(rng.choice(["T", "P"]))
        steps = [("B", dist("T", "P"), -1), (outer, dist("B"), -1)]
        state = 0
        while state is not None:
            symbol, state = REBER[state][rng.integers(len(REBER[state]))]
            after = dist(*(s for s, _ in REBER[state])) if state is not None else dist(outer)
            steps.append((symbol, after, -1))
        steps += [(outer, dist("E"), ids[outer]), ("E", dist("B"), -1)]
        for symbol, p, g in steps:
            seq.append(ids[symbol])
            nxt.append(p)
            group.append(g)
    return np.array(seq[:n_steps]), np.array(nxt[:n_steps]), np.array(group[:n_steps])


def sequence_run(run_dir: Path, n_replicas: int = 3, steps=(3000, 1000), seed: int = 0) -> Path:
    """A rate-backend grammar run: phases train (plastic) and test (frozen)."""
    rng = np.random.default_rng(seed)
    n = len(SYMBOLS)
    chance = float(np.log(n))
    metrics = {"train": {"cross_entropy": 0.9, "cross_entropy_chance": chance, "optimal_cross_entropy": 0.45,
                         "per_replica": {"cross_entropy": [0.88, 0.9, 0.92]}},
               "test": {"cross_entropy": 0.7, "cross_entropy_chance": chance, "optimal_cross_entropy": 0.45,
                        "longrange_accuracy": 0.62, "longrange_accuracy_chance": 0.5, "kl_to_optimal": 0.25,
                        "per_replica": {"cross_entropy": [0.69, 0.7, 0.71]}}}
    config = {"world": {"kind": "embedded_reber"}, "cortex": {"backend": "rate", "n_units": 200},
              "phases": [{"name": "train", "steps": steps[0]}, {"name": "test", "steps": steps[1], "plastic": False}]}
    h5 = write_dir(run_dir, config, metrics, n_replicas)
    h5.attrs.update(world_kind="embedded_reber", symbols=json.dumps(SYMBOLS), step_ms=1.0)
    start = 0
    for name, t_len in zip(("train", "test"), steps):
        g = add_phase(h5, name, "sequence", start, plastic=name == "train")
        seqs = [embedded_reber(t_len, rng) for _ in range(n_replicas)]
        inputs = np.stack([s[0] for s in seqs])
        optimal = np.stack([s[1] for s in seqs])
        skill = np.clip((start + np.arange(t_len)) / 2500.0, 0, 0.9)[None, :, None]
        pred = skill * optimal + (1 - skill) / n + 0.02 * rng.random(optimal.shape)
        pred /= pred.sum(axis=2, keepdims=True)
        # the writer's convention: surprisal[t] and group[t] are about the next symbol, input[t + 1]
        nxt = np.concatenate([inputs[:, 1:], inputs[:, -1:]], axis=1)
        surprisal = -np.log(np.take_along_axis(pred, nxt[..., None], axis=2)[..., 0])
        surprisal[:, -1] = np.nan
        group = np.stack([s[2] for s in seqs])
        put(g, "input", inputs.astype(np.int16))
        put(g, "group", np.concatenate([group[:, 1:], np.full((n_replicas, 1), -1)], axis=1).astype(np.int8))
        put(g, "surprisal", surprisal.astype(np.float32), "nats")
        put(g, "pred", pred[:, :200].astype(np.float32))
        put(g, "optimal", optimal[:, :200].astype(np.float32))
        put(g, "activity", np.tanh(rng.normal(size=(n_replicas, t_len, 50))).astype(np.float32), "rate (a.u.)")
        n_str = t_len // 12
        decay = np.exp(-(start / 12 + np.arange(n_str)) / 80.0)
        noise = rng.normal(0, 0.08, (n_replicas, n_str))
        put(g, "strings/cross_entropy", (0.45 + 1.5 * decay + noise).astype(np.float32), "nats/symbol")
        put(g, "strings/kl_to_optimal", (1.5 * decay + np.abs(noise)).astype(np.float32), "nats/symbol")
        correct = (rng.random((n_replicas, n_str)) < 0.5 + 0.4 * (1 - decay)).astype(np.float32)
        put(g, "strings/longrange_correct", correct, "fraction")
        start += t_len
    h5.close()
    return Path(run_dir)


# -- closed loop (steering), rate or spiking -------------------------------------------------
def closed_loop_run(run_dir: Path, n_replicas: int = 3, steps=(2000, 1000), spiking: bool = False,
                    seed: int = 1, n_units: int = 40) -> Path:
    """A foraging run: train, then a shift where the sweet cue no longer means food."""
    rng = np.random.default_rng(seed)
    metrics = {"train": {"fidelity": 0.9, "fidelity_chance": 0.5, "fitness": 0.8, "proxy_reliance": 0.1,
                         "subcortex_reward": 0.6,
                         "per_replica": {"fidelity": [0.88, 0.9, 0.92]}},
               "shift": {"fidelity": 0.55, "fidelity_chance": 0.5, "fitness": 0.3, "proxy_reliance": 0.8,
                         "subcortex_reward": 0.3,
                         "per_replica": {"fidelity": [0.5, 0.55, 0.6]}}}
    config = {"world": {"kind": "foraging"}, "cortex": {"backend": "spiking" if spiking else "rate"},
              "subcortex": {"rules": ["sweet_when_hungry"]},
              "phases": [{"name": "train", "steps": steps[0], "world": "normal"},
                         {"name": "shift", "steps": steps[1], "world": "sweet_poison"}]}
    backend = "spiking" if spiking else "rate"
    h5 = write_dir(run_dir, config, metrics, n_replicas, backend=backend, codegen_target="cython")
    h5.attrs.update(world_kind="foraging", step_ms=1.0)
    start = 0
    for name, t_len, variant in zip(("train", "shift"), steps, ("normal", "sweet_poison")):
        g = add_phase(h5, name, "closed_loop", start, world=variant)
        t = np.arange(t_len)
        reward = (rng.random((n_replicas, t_len)) < 0.03).astype(np.float32)
        value = np.stack([np.convolve(r, np.ones(50) / 50, "same") for r in reward]).astype(np.float32)
        if name == "shift":
            value += 0.05 * np.exp(-t / 300.0)  # the learnt value overshoots after the shift
        put(g, "reward", reward, "a.u.")
        put(g, "value", value, "a.u.")
        put(g, "dopamine", (reward - value).astype(np.float32), "a.u.")
        put(g, "action", rng.integers(0, 4, (n_replicas, t_len)).astype(np.int8))
        put(g, "drives/hunger", ((start + t) % 700 / 700.0 * np.ones((n_replicas, 1))).astype(np.float32), "a.u.")
        put(g, "assessments/sweet", (0.5 + 0.3 * np.sin(t / 60) + 0.05 * rng.normal(size=(n_replicas, t_len)))
            .astype(np.float32), "a.u.")
        sensed = np.where(rng.random((n_replicas, t_len)) < 0.05, 1.0, np.nan).astype(np.float32)
        put(g, "sensed/sweet", sensed, "a.u.")
        put(g, "fitness", np.cumsum(reward - 0.01, axis=1).astype(np.float32), "a.u.")
        rate = np.clip(5 + 3 * np.sin((start + t) / 200.0) + rng.normal(0, 1, (n_replicas, t_len)), 0, None)
        if spiking:  # the spiking cortex's probe names, and spike times in network (run) time
            _spikes(g, rng, n_replicas, t_len, n_units, rate, offset_ms=start,
                    names=("spikes_time_ms", "spikes_index", "spikes_replica"))
            put(g, "rate_hz", rate.astype(np.float32), "Hz")
            v = -65 + 10 * rng.random((n_replicas, t_len, 3))
            v[rng.random(v.shape) < 0.005] = 30.0
            put(g, "v_mv", v.astype(np.float32), "mV")
        else:
            act = np.clip(rng.normal(0.2, 0.2, (n_replicas, t_len, n_units)) + rate[..., None] / 20, 0, 1)
            put(g, "activity", act.astype(np.float32), "rate (a.u.)")
        n_trials = t_len // 50
        for metric, level in (("fidelity", 0.9), ("reward", 0.6), ("proxy_follow", 0.1)):
            if name == "shift":
                level = 1 - level if metric != "reward" else 0.3
            put(g, f"trials/{metric}", np.clip(level + rng.normal(0, 0.1, (n_replicas, n_trials)), 0, 1)
                .astype(np.float32), "fraction" if metric != "reward" else "a.u.")
        start += t_len
    h5.close()
    return Path(run_dir)


def _spikes(g, rng, n_replicas, t_len, n_units, rate_hz, offset_ms=0.0,
            names=("spikes_t_ms", "spikes_i", "spikes_replica")):
    """Poisson spikes, stored replica after replica (the order a per-replica writer leaves)."""
    ts, idx, rep = [], [], []
    for r in range(n_replicas):
        p = rate_hz[r] / 1000.0
        hits = rng.random((t_len, n_units)) < p[:, None]
        t, i = np.nonzero(hits)
        ts.append(offset_ms + t + rng.random(t.size))
        idx.append(i)
        rep.append(np.full(t.size, r))
    put(g, names[0], np.concatenate(ts), "ms", axis=0)
    put(g, names[1], np.concatenate(idx).astype(np.int32), axis=0)
    put(g, names[2], np.concatenate(rep).astype(np.int16), axis=0)


# -- Izhikevich (2007) distal reward ------------------------------------------------------------
def distal_reward_run(run_dir: Path, n_replicas: int = 2, duration_s: int = 600, seed: int = 2) -> Path:
    """The rewarded synapse grows to the maximum; the rest stay near baseline."""
    rng = np.random.default_rng(seed)
    metrics = {"learn": {"rewarded_weight_final": 3.9, "other_weights_median_final": 0.9,
                         "per_replica": {"rewarded_weight_final": [3.85, 3.95]}}}
    config = {"world": {"kind": "izhikevich2007"}, "cortex": {"backend": "spiking", "n_exc": 800, "n_inh": 200},
              "phases": [{"name": "learn", "steps": duration_s * 1000}]}
    h5 = write_dir(run_dir, config, metrics, n_replicas, backend="spiking", codegen_target="cpp_standalone")
    h5.attrs.update(world_kind="distal_reward", step_ms=1.0)
    # the attributes experiments.distal_reward writes: sampling intervals and the first weight sample
    g = add_phase(h5, "learn", "distal_reward", 0, step_ms=1.0, variant="base", dopamine_dt_ms=10.0,
                  weights_dt_s=1.0, weights_t0_s=1.0)
    t_s = np.arange(duration_s)
    rewarded = 1 + 3 / (1 + np.exp(-(t_s - duration_s / 3) / (duration_s / 15)))
    put(g, "rewarded_weight", (rewarded + rng.normal(0, 0.05, (n_replicas, duration_s))).astype(np.float32), "mV")
    put(g, "other_weights_median", (1 + rng.normal(0, 0.02, (n_replicas, duration_s))).astype(np.float32), "mV")
    put(g, "other_weights_p90", (1.6 + rng.normal(0, 0.03, (n_replicas, duration_s))).astype(np.float32), "mV")
    rewards = np.sort(rng.uniform(0, duration_s, 40 + duration_s // 5))
    put(g, "reward_times_s", rewards, "s", axis=0)
    put(g, "reward_replica", rng.integers(0, n_replicas, rewards.size).astype(np.int32), axis=0)
    da = np.zeros((n_replicas, duration_s * 100))
    for rt in rewards:  # each reward adds 0.5, decaying with tau 200 ms, on a 10 ms grid
        k = int(rt * 100)
        da[:, k:k + 200] += 0.5 * np.exp(-np.arange(min(200, da.shape[1] - k)) / 20.0)
    put(g, "dopamine", (da + 0.01).astype(np.float32), "a.u.")
    _spikes(g, rng, 1, 4000, 1000, np.full((1, 4000), 1.5))  # the first 4 s of replica 0
    put(g, "weights", np.clip(rng.gamma(2, 0.5, (n_replicas, duration_s // 10, 200))
                              * np.linspace(1, 1.2, duration_s // 10)[None, :, None], 0, 4).astype(np.float32),
        "mV", dt_ms=10000.0)
    h5.close()
    return Path(run_dir)


# -- a long run, for the cost of plotting ---------------------------------------------------------
def big_run(run_dir: Path, n_steps: int = 10**6, n_replicas: int = 2, n_units: int = 64,
            spikes_per_step: float = 5.0, block: int = 1 << 16, noisy: bool = False) -> Path:
    """10^6 steps of every kind of trace, written block by block like a real run (bounded memory).

    Values repeat a short random pattern with a drift, so the file compresses quickly and is cheap to
    build; its uncompressed size is what the plotting must avoid reading in full. ``noisy`` swaps
    the pattern for noise that compresses (and decompresses) like real traces, to measure honestly.
    """
    split = int(n_steps * 0.8)
    metrics = {"train": {"fidelity": 0.9, "fidelity_chance": 0.5}, "shift": {"fidelity": 0.6, "fidelity_chance": 0.5}}
    config = {"world": {"kind": "foraging"}, "cortex": {"backend": "spiking", "n_units": n_units},
              "phases": [{"name": "train", "steps": split}, {"name": "shift", "steps": n_steps - split}]}
    h5 = write_dir(run_dir, config, metrics, n_replicas, backend="spiking")
    h5.attrs.update(world_kind="foraging", step_ms=1.0, symbols=json.dumps(SYMBOLS))
    # a short periodic pattern: gzip compresses it ~50x, at several hundred MB/s
    period = (np.arange(block)[:, None] // 7 + np.arange(n_units)[None, :] * 3) % 10
    pattern = np.broadcast_to((period / 10.0).astype(np.float32), (n_replicas, block, n_units))
    if noisy:
        pattern = np.random.default_rng(3).random((n_replicas, block, n_units), dtype=np.float32).round(3)
    scalars = ("reward", "dopamine", "value", "fitness", "drives/hunger", "assessments/sweet", "sensed/sweet",
               "surprisal")  # no rate_hz: the overview must reduce `activity` itself
    for name, start, length, variant in (("train", 0, split, "normal"), ("shift", split, n_steps - split, "poison")):
        g = add_phase(h5, name, "closed_loop", start, world=variant)

        def make(path, shape, dtype, axis=1, units=""):
            full = list(shape)
            ds = g.create_dataset(path, shape=tuple(full), dtype=dtype,
                                  chunks=_chunks(full, np.dtype(dtype).itemsize, axis),
                                  compression="gzip", compression_opts=1, shuffle=True)
            if units:
                ds.attrs["units"] = units
            return ds

        ds = {n: make(n, (n_replicas, length), np.float32, units="a.u.") for n in scalars}
        ds["group"] = make("group", (n_replicas, length), np.int16)
        ds["activity"] = make("activity", (n_replicas, length, n_units), np.float32, units="rate (a.u.)")
        ds["v_mV"] = make("v_mV", (n_replicas, length, 3), np.float32, units="mV")
        n_spk = int(length * spikes_per_step)
        ev = {"spikes_t_ms": make("spikes_t_ms", (n_spk,), np.float32, 0, "ms"),
              "spikes_i": make("spikes_i", (n_spk,), np.int32, 0),
              "spikes_replica": make("spikes_replica", (n_spk,), np.int16, 0)}
        for a in range(0, length, block):
            b = min(length, a + block)
            sl = pattern[:, : b - a]
            for n in scalars:
                ds[n][:, a:b] = sl[..., 0] + a / length
            ds["group"][:, a:b] = np.where(np.arange(a, b) % 12 == 10, 0, -1)
            ds["activity"][:, a:b] = sl
            ds["v_mV"][:, a:b] = -65 + 10 * sl[..., :3]
            e0, e1 = int(a * spikes_per_step), int(b * spikes_per_step)
            ev["spikes_t_ms"][e0:e1] = np.linspace(a, b, e1 - e0, endpoint=False, dtype=np.float32)
            ev["spikes_i"][e0:e1] = np.arange(e0, e1) % n_units
            ev["spikes_replica"][e0:e1] = 0
        n_trials = length // 100
        put(g, "trials/fidelity", pattern[:, :n_trials, 1], "fraction")
        put(g, "pred", np.full((n_replicas, 2000, len(SYMBOLS)), 1 / len(SYMBOLS), np.float32))
        put(g, "optimal", np.full((n_replicas, 2000, len(SYMBOLS)), 1 / len(SYMBOLS), np.float32))
        put(g, "input", np.zeros((n_replicas, length), np.int16))
    h5.close()
    return Path(run_dir)
