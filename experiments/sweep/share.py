"""Sweeps that share training: points that differ only in phases after the first few run those
first phases once, and branch from the saved state (``neurosteer run --from``).

Two runs share their first k phases when the part of their configs that decides the state after
k phases is the same (``experiments.state.prefix_config``: seed, replicas, world without later
variants, cortex, subcortex, sampled units, the first k phases). Each run branches at the deepest
k (short of its last phase) that it shares with another run of the sweep, from the first run in
sweep order with that prefix: the *trunk*, which saves its states whatever its config says. A
trunk never branches itself (an earlier run with a deeper common prefix would be the trunk), so
there are no chains: a branch waits for one trunk. Worlds whose family saves no state
(distal_reward) and cpp_standalone cortices (their whole experiment is one compiled simulation)
never share.
"""
from __future__ import annotations

from dataclasses import dataclass

from experiments.state import config_hash, prefix_config


@dataclass(frozen=True)
class Branch:
    """Run ``run_id`` from ``trunk``'s state after phase ``phase`` (number ``index``, from 0)."""

    trunk: str
    phase: str
    index: int


def _can_share(resolved: dict) -> bool:
    cortex = resolved.get("cortex", {}) or {}
    kind = (resolved.get("world", {}) or {}).get("kind")
    return cortex.get("target") != "cpp_standalone" and kind != "distal_reward"


def plan_branches(runs) -> tuple[dict[str, Branch], set[str]]:
    """(run id -> its Branch, the trunks' run ids) for runs with a ``resolved`` config, in order."""
    hashes = {}
    for run in runs:
        phases = run.resolved.get("phases", [])
        if _can_share(run.resolved):
            hashes[run.run_id] = [config_hash(prefix_config(run.resolved, k)) for k in range(1, len(phases))]
    first: dict[tuple[int, str], str] = {}
    count: dict[tuple[int, str], int] = {}
    for rid, hs in hashes.items():
        for k, h in enumerate(hs):
            first.setdefault((k, h), rid)
            count[(k, h)] = count.get((k, h), 0) + 1
    branches, trunks = {}, set()
    by_id = {run.run_id: run for run in runs}
    for rid, hs in hashes.items():
        shared = [k for k, h in enumerate(hs) if count[(k, h)] > 1]
        if not shared:
            continue
        k = max(shared)
        trunk = first[(k, hs[k])]
        if trunk == rid:
            trunks.add(rid)
            continue
        branches[rid] = Branch(trunk, by_id[rid].resolved["phases"][k]["name"], k)
        trunks.add(trunk)
    return branches, trunks
