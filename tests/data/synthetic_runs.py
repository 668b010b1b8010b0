"""Small synthetic run directories for the plotting tests, written through the real recorder.

Each builder writes what the runner writes (config.yaml, meta.json, metrics.json, traces.h5): the
traces go through :class:`experiments.recording.Recorder`, so they carry the schema's names, units
and sampling attributes (:mod:`experiments.traces`), with signals shaped like the real ones (a
learning curve that falls toward the optimum, sparse rewards, a dopamine dip after a shift), so the
figures can be judged by eye as well as by the tests. What a cortex states about its own traces
(units and descriptions of ``activity`` and the spiking traces) is in :data:`CORTEX_INFO`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from experiments.recording import Recorder

SYMBOLS = ["B", "T", "P", "S", "X", "V", "E"]
# Reber grammar (Cleeremans et al. 1989): state -> [(symbol, next state)], each branch p = 0.5.
REBER = {0: [("B", 1)], 1: [("T", 2), ("P", 3)], 2: [("S", 2), ("X", 4)], 3: [("T", 3), ("V", 5)],
         4: [("X", 3), ("S", 6)], 5: [("P", 4), ("V", 6)], 6: [("E", None)]}
# units and description of the traces a cortex states itself (its activity_units and trace_info)
CORTEX_INFO = {
    "activity": ("1", None),
    "rate_hz": ("Hz", "excitatory population rate per step"),
    "v_mv": ("mV", "membrane potential of the probed neurons at each step's start"),
    "spikes_replica": ("1", "replica of each spike of the sampled neurons"),
    "spikes_index": ("1", "replica-local index of the spiking neuron"),
    "spikes_time_ms": ("ms", "spike time, network time since reset"),
}


def put(rec: Recorder, phase: str, name: str, array, **kw) -> None:
    """Append one block; a cortex's own traces get the units and description the cortex states."""
    units, description = CORTEX_INFO.get(name, (None, None))
    rec.append(phase, name, array, **{"units": units, "description": description, **kw})


def write_dir(run_dir: Path, config: dict, metrics: dict, n_replicas: int, chunk_steps: int = 4096,
              **meta) -> Recorder:
    """config.yaml, meta.json, metrics.json; returns the open recorder of traces.h5 for the caller."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    meta = {"seed": 1, "replicas": n_replicas, "backend": "rate", "git_hash": "0123abc",
            "wall_time_s": 1.5, "command": "neurosteer run test.yaml", **meta}
    (run_dir / "meta.json").write_text(json.dumps(meta))
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    rec = Recorder(run_dir / "traces.h5", n_replicas, chunk_steps)
    rec.meta(backend=meta["backend"], world_kind=config["world"]["kind"])
    return rec


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
    rec = write_dir(run_dir, config, metrics, n_replicas)
    rec.meta(symbols=SYMBOLS, step_ms=1.0)
    start = 0
    for name, t_len in zip(("train", "test"), steps):
        rec.phase(name, kind="sequence", start_step=start, step_ms=1.0, plastic=name == "train", variant="base")
        g = name
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
        put(rec, g, "input", inputs.astype(np.int16))
        put(rec, g, "group", np.concatenate([group[:, 1:], np.full((n_replicas, 1), -1)], axis=1).astype(np.int8))
        put(rec, g, "surprisal", surprisal.astype(np.float32))
        put(rec, g, "pred", pred[:, :200].astype(np.float32))
        put(rec, g, "optimal", optimal[:, :200].astype(np.float32))
        put(rec, g, "activity", np.tanh(rng.normal(size=(n_replicas, t_len, 50))).astype(np.float32))
        n_str = t_len // 12
        decay = np.exp(-(start / 12 + np.arange(n_str)) / 80.0)
        noise = rng.normal(0, 0.08, (n_replicas, n_str))
        put(rec, g, "strings/cross_entropy", (0.45 + 1.5 * decay + noise).astype(np.float32))
        put(rec, g, "strings/kl_to_optimal", (1.5 * decay + np.abs(noise)).astype(np.float32))
        correct = (rng.random((n_replicas, n_str)) < 0.5 + 0.4 * (1 - decay)).astype(np.float32)
        put(rec, g, "strings/longrange_correct", correct)
        rec.attrs(g, n_steps=t_len)
        start += t_len
    rec.close()
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
              "phases": [{"name": "train", "trials": steps[0] // 50, "variant": "base"},
                         {"name": "shift", "trials": steps[1] // 50, "variant": "sweet_poison"}]}
    backend = "spiking" if spiking else "rate"
    rec = write_dir(run_dir, config, metrics, n_replicas, backend=backend, codegen_target="cython")
    start = 0
    for name, t_len, variant in zip(("train", "shift"), steps, ("base", "sweet_poison")):
        rec.phase(name, kind="closed_loop", start_step=start, step_ms=1.0, plastic=True, variant=variant)
        rec.attrs(name, steps_per_trial=50)
        t = np.arange(t_len)
        reward = (rng.random((n_replicas, t_len)) < 0.03).astype(np.float32)
        value = np.stack([np.convolve(r, np.ones(50) / 50, "same") for r in reward]).astype(np.float32)
        if name == "shift":
            value += 0.05 * np.exp(-t / 300.0)  # the learnt value overshoots after the shift
        put(rec, name, "reward", reward)
        put(rec, name, "value", value)
        put(rec, name, "dopamine", (reward - value).astype(np.float32))
        put(rec, name, "action", rng.integers(0, 4, (n_replicas, t_len)).astype(np.int8))
        put(rec, name, "drives/hunger", ((start + t) % 700 / 700.0 * np.ones((n_replicas, 1))).astype(np.float32))
        put(rec, name, "assessments/sweet", (0.5 + 0.3 * np.sin(t / 60) + 0.05 * rng.normal(size=(n_replicas, t_len)))
            .astype(np.float32))
        sensed = np.where(rng.random((n_replicas, t_len)) < 0.05, 1.0, np.nan).astype(np.float32)
        put(rec, name, "sensed/sweet", sensed)
        put(rec, name, "fitness", (reward - 0.01).astype(np.float32))
        rate = np.clip(5 + 3 * np.sin((start + t) / 200.0) + rng.normal(0, 1, (n_replicas, t_len)), 0, None)
        if spiking:  # spike times in network (run) time
            _spikes(rec, name, rng, n_replicas, t_len, n_units, rate, offset_ms=start)
            put(rec, name, "rate_hz", rate.astype(np.float32))
            v = -65 + 10 * rng.random((n_replicas, t_len, 3))
            v[rng.random(v.shape) < 0.005] = 30.0
            put(rec, name, "v_mv", v.astype(np.float32))
            put(rec, name, "activity", rng.poisson(rate[..., None] / 1000, (n_replicas, t_len, n_units))
                .astype(np.float32), units="spikes/step")
        else:
            act = np.clip(rng.normal(0.2, 0.2, (n_replicas, t_len, n_units)) + rate[..., None] / 20, 0, 1)
            put(rec, name, "activity", act.astype(np.float32))
        n_trials = t_len // 50
        for metric, level in (("fidelity", 0.9), ("proxy_follow", 0.1)):
            level = 1 - level if name == "shift" else level
            put(rec, name, f"trials/{metric}", (rng.random((n_replicas, n_trials)) < level).astype(np.int8))
        put(rec, name, "trials/reward", reward.reshape(n_replicas, n_trials, -1).sum(axis=2))
        put(rec, name, "trials/fitness", (reward - 0.01).reshape(n_replicas, n_trials, -1).sum(axis=2))
        rec.attrs(name, n_steps=t_len)
        start += t_len
    rec.close()
    return Path(run_dir)


def _spikes(rec, phase, rng, n_replicas, t_len, n_units, rate_hz, offset_ms=0.0):
    """Poisson spikes, stored replica after replica (the order a per-replica writer leaves)."""
    ts, idx, rep = [], [], []
    for r in range(n_replicas):
        p = rate_hz[r] / 1000.0
        hits = rng.random((t_len, n_units)) < p[:, None]
        t, i = np.nonzero(hits)
        ts.append(offset_ms + t + rng.random(t.size))
        idx.append(i)
        rep.append(np.full(t.size, r))
    put(rec, phase, "spikes_time_ms", np.concatenate(ts))
    put(rec, phase, "spikes_index", np.concatenate(idx).astype(np.int32))
    put(rec, phase, "spikes_replica", np.concatenate(rep).astype(np.int16))


# -- Izhikevich (2007) distal reward ------------------------------------------------------------
def distal_reward_run(run_dir: Path, n_replicas: int = 2, duration_s: int = 600, seed: int = 2) -> Path:
    """The rewarded synapse grows to the maximum; the rest stay near baseline."""
    rng = np.random.default_rng(seed)
    metrics = {"learn": {"rewarded_weight_final_frac": 0.97, "others_median_final_frac": 0.22,
                         "per_replica": {"rewarded_weight_final_frac": [0.96, 0.98]}}}
    config = {"world": {"kind": "izhikevich2007"}, "cortex": {"backend": "spiking", "n_units": 1000},
              "phases": [{"name": "learn", "duration_s": duration_s}]}
    rec = write_dir(run_dir, config, metrics, n_replicas, backend="spiking", codegen_target="cpp_standalone")
    rec.phase("learn", kind="distal_reward", start_step=0, step_ms=1.0, plastic=True, variant="base")
    rec.attrs("learn", sample_units=1000, w_max=4.0)
    t_s = np.arange(duration_s)
    rewarded = 1 + 3 / (1 + np.exp(-(t_s - duration_s / 3) / (duration_s / 15)))
    put(rec, "learn", "rewarded_weight", (rewarded + rng.normal(0, 0.05, (n_replicas, duration_s))).astype(np.float32))
    put(rec, "learn", "other_weights_median", (1 + rng.normal(0, 0.02, (n_replicas, duration_s))).astype(np.float32))
    put(rec, "learn", "other_weights_p90", (1.6 + rng.normal(0, 0.03, (n_replicas, duration_s))).astype(np.float32))
    rewards = np.sort(rng.uniform(0, duration_s, 40 + duration_s // 5))
    put(rec, "learn", "reward_times_s", rewards)
    put(rec, "learn", "reward_replica", rng.integers(0, n_replicas, rewards.size).astype(np.int32))
    da = np.zeros((n_replicas, duration_s * 100))
    for rt in rewards:  # each reward adds 0.5, decaying with tau 200 ms, on a 10 ms grid
        k = int(rt * 100)
        da[:, k:k + 200] += 0.5 * np.exp(-np.arange(min(200, da.shape[1] - k)) / 20.0)
    put(rec, "learn", "dopamine", (da + 0.01).astype(np.float32))
    put(rec, "learn", "eligibility/rewarded", (0.1 * da).astype(np.float32))
    rate = np.full((1, 4000), 1.5)
    ts = np.nonzero(rng.random((4000, 1000)) < rate[0, :, None] / 1000)
    # the first 4 s of replica 0, written by the distal-reward phase itself (described in the schema)
    rec.append("learn", "spikes_time_ms", ts[0] + rng.random(ts[0].size))
    rec.append("learn", "spikes_index", ts[1].astype(np.int32))
    rec.append("learn", "spikes_replica", np.zeros(ts[0].size, np.int32))
    rec.attrs("learn", n_steps=duration_s * 1000)
    rec.close()
    return Path(run_dir)


# -- long runs, for the cost of plotting ----------------------------------------------------------
def big_run(run_dir: Path, n_steps: int = 10**6, n_replicas: int = 2, n_units: int = 64,
            spikes_per_step: float = 5.0, block: int = 1 << 16, noisy: bool = False,
            kind: str = "closed_loop") -> Path:
    """10^6 steps of every trace a phase of ``kind`` (closed_loop, spiking; or sequence, rate)
    holds, appended block by block like a real run (bounded memory).

    Values repeat a short random pattern with a drift, so the file compresses quickly and is cheap to
    build; its uncompressed size is what the plotting must avoid reading in full. ``noisy`` swaps
    the pattern for noise that compresses (and decompresses) like real traces, to measure honestly.
    """
    split = int(n_steps * 0.8)
    sequence = kind == "sequence"
    phases = (("train", 0, split, "base"), ("shift", split, n_steps - split, "poison"))
    if sequence:
        metrics = {"train": {"cross_entropy": 0.9}, "shift": {"cross_entropy": 1.1}}
        config = {"world": {"kind": "embedded_reber"}, "cortex": {"backend": "rate", "n_units": n_units},
                  "phases": [{"name": "train", "strings": split // 12}, {"name": "shift", "strings": n_steps // 60}]}
    else:
        metrics = {"train": {"fidelity": 0.9, "fidelity_chance": 0.5},
                   "shift": {"fidelity": 0.6, "fidelity_chance": 0.5}}
        config = {"world": {"kind": "foraging"}, "cortex": {"backend": "spiking", "n_units": n_units},
                  "phases": [{"name": "train", "trials": split // 100}, {"name": "shift", "trials": n_steps // 500}]}
    rec = write_dir(run_dir, config, metrics, n_replicas, chunk_steps=4096, backend=config["cortex"]["backend"])
    rec.meta(symbols=SYMBOLS, step_ms=1.0)
    # a short periodic pattern: gzip compresses it ~50x, at several hundred MB/s
    period = (np.arange(block)[:, None] // 7 + np.arange(n_units)[None, :] * 3) % 10
    pattern = np.broadcast_to((period / 10.0).astype(np.float32), (n_replicas, block, n_units))
    if noisy:
        pattern = np.random.default_rng(3).random((n_replicas, block, n_units), dtype=np.float32).round(3)
    # no rate_hz: the overview must reduce `activity` itself
    scalars = ("surprisal",) if sequence else (
        "reward", "dopamine", "value", "fitness", "drives/hunger", "assessments/sweet", "sensed/sweet")
    for name, start, length, variant in phases:
        rec.phase(name, kind=kind, start_step=start, step_ms=1.0, plastic=True, variant=variant)
        for a in range(0, length, block):
            b = min(length, a + block)
            sl = pattern[:, : b - a]
            for n in scalars:
                put(rec, name, n, sl[..., 0] + a / length)
            put(rec, name, "activity", sl, units="1" if sequence else "spikes/step")
            if sequence:
                put(rec, name, "input", np.broadcast_to((np.arange(a, b) % 7).astype(np.int16), (n_replicas, b - a)))
                put(rec, name, "group", np.broadcast_to(np.where(np.arange(a, b) % 12 == 10, 0, -1).astype(np.int8),
                                                        (n_replicas, b - a)))
                continue
            put(rec, name, "v_mv", -65 + 10 * sl[..., :3])
            e0, e1 = int(a * spikes_per_step), int(b * spikes_per_step)
            put(rec, name, "spikes_time_ms", start + np.linspace(a, b, e1 - e0, endpoint=False, dtype=np.float32))
            put(rec, name, "spikes_index", (np.arange(e0, e1) % n_units).astype(np.int32))
            put(rec, name, "spikes_replica", np.zeros(e1 - e0, np.int16))
        if sequence:
            put(rec, name, "strings/cross_entropy", pattern[:, :length // 12, 1])
            put(rec, name, "pred", np.full((n_replicas, 2000, len(SYMBOLS)), 1 / len(SYMBOLS), np.float32))
            put(rec, name, "optimal", np.full((n_replicas, 2000, len(SYMBOLS)), 1 / len(SYMBOLS), np.float32))
        else:
            put(rec, name, "trials/fidelity", (pattern[:, :length // 100, 1] > 0.5).astype(np.int8))
        rec.attrs(name, n_steps=length)
    rec.close()
    return Path(run_dir)
