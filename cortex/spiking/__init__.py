"""Spiking (Brian2) cortex models. Brian2 is imported only by the modules that build a network,
never by ``params`` modules, so validating a spiking config does not need it.

Model ``lif`` (``SpikingCortex``):

- ``params``: ``SpikingParams``, ``SPIKING_MODELS`` and ``TARGET_LIMITS`` (what a codegen target
  cannot run; no Brian2);
- ``equations``: the model as Brian2 equation text, with units (no Brian2);
- ``inputs``: open-loop input spike trains and padding gates, drawn in numpy;
- ``features``: spike counts per step and their exponential filters, the readouts' features;
- ``codegen``: target choice and cython cache directory, set only around our own runs;
- ``build``: the Brian2 network of K replicas (imports Brian2);
- ``cortex``: ``SpikingCortex``, the facade (open loop, runtime targets);
- ``monitors``: spikes, membrane potentials, eligibility and state read back from the network;
- ``closed_loop``: the per-step network operation of a closed-loop run, on explicit handles;
- ``schedule``: the cpp_standalone plan, simulated ahead and replayed block by block;
- ``standalone``: cpp_standalone, the whole open-loop experiment as one compiled simulation.

Model ``izhikevich2007`` (``izhikevich``, params in ``izhikevich_params``): the distal-reward
network of Izhikevich (2007), built like every model, run phase by phase with a reward exchange.
"""
