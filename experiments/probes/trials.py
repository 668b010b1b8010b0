"""One closed-loop phase of a saved run as probe data: per trial, the activity of the recorded
units at the cue step (the items are on offer, the choice not yet made) and labels of the item in
the first slot (``trials/offered``, ``trials/offered_cue``), which is random per trial:

* ``taste``: 1 if it is sweet (its kind's ``sweet`` > 0), else 0;
* ``toxin``: 1 if it is toxic (``toxin`` > 0), else 0;
* ``cue``: the proxy-cue category it showed (the trained cue, e.g. its colour).

(The item taken would not do: a trained cortex takes one kind only, so there is one class.) In
training, taste, toxin and the cue go together (without diversity); after a cue-conflict shift the
cue lies about taste, so decoders of taste and of the cue come apart.
"""
from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path

import h5py
import numpy as np
import yaml

TARGETS = ("taste", "toxin", "cue")
CUE_STEP = 0         # step within a trial at which the items are on offer
SLOT = 0             # the item probed: the first on offer


@dataclass(frozen=True)
class PhaseTrials:
    """activity: (K, N, U) float, one row per trial; labels: target -> (K, N) int (-1: unknown)."""

    phase: str
    activity: np.ndarray
    labels: dict[str, np.ndarray]


def load_phase(run_dir: str | Path, phase: str) -> PhaseTrials:
    """Read ``phase`` of a closed-loop run directory. Raises KeyError naming what is missing
    (a phase that did not run, a run without recorded activity or without ``trials/cue``)."""
    run_dir = Path(run_dir)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    items = config["world"]["items"]
    with h5py.File(run_dir / "traces.h5", "r") as h5:
        if phase not in h5:
            raise KeyError(f"{run_dir}: no phase '{phase}' in traces.h5")
        group = h5[phase]
        for name in ("activity", "trials/offered", "trials/offered_cue"):
            if name not in group:
                raise KeyError(f"{run_dir}: {phase}/{name} not recorded (recording.sample_units > 0, and a "
                               "run made since trials/offered is recorded)")
        names = group.attrs["item_names"]
        names = json.loads(names) if isinstance(names, str) else [str(n) for n in names]
        steps = int(group.attrs["steps_per_trial"])
        item = group["trials/offered"][:, :, SLOT].astype(int)
        cue = group["trials/offered_cue"][:, :, SLOT].astype(int)
        n = item.shape[1]
        activity = group["activity"][:, CUE_STEP: n * steps: steps, :].astype(float)
    sweet = np.array([float(items[name].get("sweet", 0.0)) > 0 for name in names], dtype=int)
    toxic = np.array([float(items[name].get("toxin", 0.0)) > 0 for name in names], dtype=int)
    known = item >= 0
    safe = np.clip(item, 0, None)
    labels = {"taste": np.where(known, sweet[safe], -1), "toxin": np.where(known, toxic[safe], -1),
              "cue": np.where(known, cue, -1)}
    return PhaseTrials(phase, activity[:, : n], labels)
