"""Parameter sweeps: many runs of one experiment over axes of its keys, executed on Dask.

- ``spec.py``: the sweep file (base configs, ``set`` / ``grid`` / ``zip`` / ``random`` / ``seeds``
  axes, ``cluster:`` options), expanded into runs, each validated through experiments.config and
  identified by the hash of its resolved config;
- ``engines.py``: where the runs execute: a Dask ``LocalCluster``, dask-jobqueue ``SLURMCluster`` /
  ``PBSCluster``, or the address of a running scheduler;
- ``task.py``: what a worker does for one run (its own process for spiking runs), published into
  the sweep directory atomically;
- ``run.py``: :func:`plan`, :func:`run_sweep`, :func:`status`, :func:`write_results`.

These functions raise ``experiments.errors.InputError`` on bad input and return values; only the
``neurosteer`` command (experiments/cli.py) prints problems and chooses exit codes.

Nothing is imported here: a worker's run process starts as ``python -m experiments.sweep.task``
and should load only what one run needs.
"""
