"""A Brian2 network's state as a tree of plain arrays (for saved brain states), and back.

``Network.store(filename=...)`` pickles; a state file here holds only arrays and numbers. This
reads the same per-object state that ``store`` collects (``_full_state``: every array variable of
every group, synapse, monitor and clock, and each synaptic pathway's spike queue) and writes it
back the way ``Network.restore`` does, into a network built with the same objects and names.
The random generator is not part of it: the cortex reseeds Brian2 at every closed-loop run from
its own seed chain, which is in the cortex's state.

Runtime targets only (numpy, cython): a cpp_standalone network's values live in the compiled
project, and its schedule is simulated ahead in one go (``cortex.spiking.schedule``).
"""
from __future__ import annotations

import numpy as np


def network_state(net) -> dict:
    """``{"t_s": time, "objects": {name: {variable: {"values", "size"}}}}``, plus each spike
    queue as its ``[dt, spikes(, shape)]`` (None where the pathway has none yet)."""
    objects = {}
    for name, state in net._full_state().items():
        if not isinstance(state, dict):
            continue  # the network time, below
        entry = {}
        for var, value in state.items():
            if var == "_spikequeue":
                # (dt, spikes[, shape]): the cython queue keeps no shape
                entry[var] = None if value is None else [
                    None if v is None else float(v) if np.isscalar(v) else np.asarray(v) for v in value]
            elif isinstance(value, tuple) and isinstance(value[0], np.ndarray):
                entry[var] = {"values": value[0], "size": np.atleast_1d(np.asarray(value[1], np.int64))}
            elif value is None or isinstance(value, (bool, int, float, np.generic)):
                # a generator group's bookkeeping (its last dt, whether its spikes changed)
                entry[var] = {"plain": value.item() if isinstance(value, np.generic) else value}
        objects[name] = entry
    return {"t_s": float(net.t_), "objects": objects}


def load_network_state(net, tree: dict) -> None:
    """Write a :func:`network_state` tree back into ``net`` (same objects, same names)."""
    from brian2.core.network import _get_all_objects

    net.t_ = float(tree["t_s"])
    saved = tree["objects"]
    everything = list(_get_all_objects(net.objects)) + list({o.clock for o in _get_all_objects(net.objects)})
    for obj in everything:
        if obj.name not in saved or not hasattr(obj, "_restore_from_full_state"):
            continue
        state = {}
        for var, value in saved[obj.name].items():
            if var == "_spikequeue":
                state[var] = None if value is None else tuple(value)
            elif "plain" in value:
                state[var] = value["plain"]
            else:
                size = [int(x) for x in value["size"]]
                state[var] = (value["values"], size[0] if len(size) == 1 else tuple(size))
        obj._restore_from_full_state(state)
