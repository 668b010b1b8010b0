"""Probes: what the cortex's recorded activity carries, decoded with cross-validated scikit-learn
classifiers. Reads run directories only (traces.h5, config.yaml); never imports ``cortex``.

* :mod:`.trials` turns one closed-loop phase of a run into per-trial activity (the step at which
  the mouth shows the taken item) and labels: its true taste and toxin, and the proxy cue it showed.
* :mod:`.decode` scores a linear decoder of a label from that activity: cross-validated within a
  phase, trained in one phase and tested in another (transfer), or on phases pooled.
"""
from .decode import cv_accuracy, probe_run, transfer_accuracy
from .trials import TARGETS, PhaseTrials, load_phase

__all__ = ["TARGETS", "PhaseTrials", "load_phase", "cv_accuracy", "transfer_accuracy", "probe_run"]
