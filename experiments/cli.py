"""The ``neurosteer`` command (also ``python -m experiments``).

Exit codes: 0 done; 1 a run (or some sweep runs) failed, traceback in the run directory;
2 bad input (config, path, override), every problem listed as ``FILE: key.path: message``,
and nothing written. This is the only module that maps exceptions to exit codes and prints
problems: the functions it calls raise ``experiments.errors.InputError`` (bad input) or
``experiments.runner.RunFailed`` and return values.
"""
from __future__ import annotations

import argparse
import os
import sys

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurosteer", description=(
        "Simulate a hand-coded subcortex steering a self-learning cortex, from YAML experiments."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check an experiment file and print its resolved config")
    p.add_argument("config", help="experiment YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a key (repeatable), e.g. --set cortex.n_units=64")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")

    p = sub.add_parser("run", help="run an experiment; writes a run directory")
    p.add_argument("config", nargs="?", help="experiment YAML file (not with --resume)")
    p.add_argument("--from", dest="start", metavar="RUN_DIR[:PHASE]",
                   help="run only the phases after PHASE (default: the last saved) from RUN_DIR's saved state")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue an unfinished run in its own directory after its last saved phase")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a key (repeatable), e.g. --set phases.train.strings=500")
    p.add_argument("--out", help="run directory to create (default: runs/NAME-TIMESTAMP-sSEED)")
    p.add_argument("--quiet", action="store_true", help="no progress bars; print only the run directory")
    p.add_argument("--no-plots", action="store_true", help="skip the default plots at the end")

    p = sub.add_parser("plot", help="plot a saved run directory (plots/ and report.md)")
    p.add_argument("run_dir")
    p.add_argument("--only", help="comma-separated plot names")
    p.add_argument("--format", default="png", choices=("png", "pdf", "svg"))

    p = sub.add_parser("export", help="export a run directory to another format")
    p.add_argument("run_dir")
    p.add_argument("--nwb", required=True, metavar="FILE", help="write an NWB 2 file (needs the [nwb] extra)")

    p = sub.add_parser("sweep", help="run a parameter sweep on Dask")
    p.add_argument("sweep", help="sweep YAML file")
    p.add_argument("--engine", default="local", help="local (default), slurm, pbs, or tcp://HOST:PORT")
    p.add_argument("--workers", type=int, help="worker processes (local default: one per core; "
                                                "slurm/pbs: total across jobs, default cluster.workers or min(runs, 8))")
    p.add_argument("--out", help="sweep directory (default: runs/sweeps/SWEEP_FILE_STEM)")
    p.add_argument("--profile", help="site profile YAML with cluster settings (queue, account, ...)")
    p.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    p.add_argument("--no-shared-training", action="store_true",
                   help="run every point from scratch (default: points that differ only in later phases branch "
                        "from one run's saved state)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("status", help="summarise a sweep directory (also one still running)")
    p.add_argument("sweep_dir")
    return parser


def main(argv: list[str] | None = None) -> int:
    # One BLAS thread per run unless the user says otherwise: on a shared or busy machine threaded
    # OpenBLAS made the readout ~30x slower, and sweeps already run one process per core. Set
    # before numpy is imported (nothing above imports it).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    args = build_parser().parse_args(argv)
    from experiments.errors import InputError

    command = {"validate": _validate, "run": _run, "plot": _plot, "sweep": _sweep, "status": _status,
               "export": _export}[args.command]
    try:
        return command(args)
    except InputError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT


def _validate(args) -> int:
    import yaml

    from experiments.config import load

    spec = load(args.config, args.overrides)
    if not args.quiet:
        print(yaml.safe_dump(spec.resolved(), sort_keys=False), end="")
        print(f"# {args.config}: valid", file=sys.stderr)
    return EXIT_OK


def _run(args) -> int:
    from experiments.config import load
    from experiments.errors import InputError
    from experiments.runner import RunFailed, default_out_dir, resume_run, run_spec

    if args.resume and (args.config or args.start or args.overrides or args.out):
        raise InputError([f"{args.resume}: (--resume): give the run directory alone (no CONFIG, --from, --set, --out)"])
    if not args.resume and not args.config:
        raise InputError(["(command line): run needs CONFIG (or --resume RUN_DIR)"])
    try:
        if args.resume:
            result = resume_run(args.resume, quiet=args.quiet, plots=not args.no_plots, command=sys.argv)
            if result is None:
                print(f"{args.resume}: the run has finished; nothing to resume", file=sys.stderr)
                return EXIT_OK
        else:
            spec = load(args.config, args.overrides)
            start = None
            if args.start:
                from experiments.state import start_from

                start = start_from(spec, args.start)
            out = args.out or default_out_dir(spec)
            result = run_spec(spec, out, quiet=args.quiet, plots=not args.no_plots, command=sys.argv, start=start)
    except RunFailed as exc:
        print(f"run failed: {exc}\n  traceback: {exc.run_dir / 'error.txt'}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if args.quiet:  # still the one thing a script needs: `dir=$(neurosteer run --quiet ...)`
        print(result.run_dir)
    else:
        _print_summary(result)
    return EXIT_OK


def _print_summary(result) -> None:
    print(f"run directory: {result.run_dir}  ({result.meta['wall_time_s']:.1f} s)")
    for phase, block in result.metrics.items():
        shown = [f"{k}={v:.4g}" for k, v in block.items()
                 if k != "per_replica" and not k.endswith("_chance") and isinstance(v, float)]
        print(f"  {phase}: " + "  ".join(shown))


def _plot(args) -> int:
    from experiments.plotting import plot_main

    only = [s.strip() for s in args.only.split(",")] if args.only else None
    return plot_main(args.run_dir, only, args.format)


def _export(args) -> int:
    from experiments.nwb import export_nwb

    path = export_nwb(args.run_dir, args.nwb)
    print(path)
    return EXIT_OK


def _sweep(args) -> int:
    from experiments.sweep.run import RESULTS, plan, run_sweep

    if args.dry_run:
        print(plan(args.sweep, args.engine, args.workers, args.profile).listing())
        return EXIT_OK
    try:
        done = run_sweep(args.sweep, out_dir=args.out, engine=args.engine, workers=args.workers,
                         quiet=args.quiet, profile=args.profile, share=not args.no_shared_training)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to finish the missing runs", file=sys.stderr)
        return 130
    c = done.counts
    if not args.quiet:
        print(f"done {c['done']}, failed {c['failed']}, missing {c['missing']}; results: {done.sweep_dir / RESULTS}",
              file=sys.stderr)
    if done.failed:
        print("failed runs:", file=sys.stderr)
        for path in done.failed:
            print(f"  {path}", file=sys.stderr)
    return EXIT_OK if done.complete else EXIT_FAILED


def _status(args) -> int:
    from experiments.sweep.run import status

    now = status(args.sweep_dir)
    print(now.summary())
    return EXIT_OK if now.complete else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
