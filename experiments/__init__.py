"""Everything that turns a YAML file into results: config, worlds, runner, traces, metrics,
plots and sweeps. For notebooks::

    import experiments
    result = experiments.run("configs/language/reber.yaml", ["cortex.n_units=64"])
    result.metrics["test"]["kl_to_optimal"]
"""
from __future__ import annotations


def run(path, overrides=(), out=None, quiet: bool = True, plots: bool = True):
    """Load, validate and run an experiment file; returns a ``RunResult`` (run_dir, metrics, meta).

    Writes the same run directory as ``neurosteer run`` (``plots/`` and ``report.md`` too, unless
    ``plots=False``), into ``out`` or ``runs/NAME-TIMESTAMP-sSEED``; ``quiet`` hides progress bars.

    Raises ``experiments.errors.InputError`` for bad input (nothing written) and
    ``experiments.runner.RunFailed`` if the run itself fails (traceback in the run dir).
    """
    from experiments.config import load
    from experiments.runner import default_out_dir, run_spec

    spec = load(path, list(overrides))
    return run_spec(spec, out if out is not None else default_out_dir(spec), quiet=quiet, plots=plots,
                    command=["experiments.run", str(path), *overrides])
