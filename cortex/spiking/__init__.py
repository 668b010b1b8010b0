"""Spiking (Brian2) cortex models. Brian2 is imported only by the modules that build a network,
never by ``params`` modules, so validating a spiking config does not need it.

Model ``lif`` (``SpikingCortex``):

- ``params``: ``SpikingParams`` and ``SPIKING_MODELS`` (no Brian2);
- ``equations``: the model as Brian2 equation text, with units (no Brian2);
- ``inputs``: open-loop input spike trains and padding gates, drawn in numpy;
- ``features``: spike counts per step and their exponential filters, the readouts' features;
- ``codegen``: target choice and cython cache directory, set only around our own runs;
- ``build``: the Brian2 network of K replicas (imports Brian2);
- ``network``: ``SpikingCortex`` (open loop); ``closed_loop``: its per-step network operation;
- ``standalone``: cpp_standalone, the whole open-loop experiment as one compiled simulation.
"""
