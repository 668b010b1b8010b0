"""Re-make the README's benchmark numbers: the bench scripts' ratios and the runs at scale.

    python tools/bench_numbers.py            # run everything (~20 min on a quiet 2-core machine), write bench/results.json
    python tools/bench_numbers.py --only spiking_cortex   # re-run some (the others are kept from the JSON)
    python tools/bench_numbers.py --write    # re-render the README block from the JSON (no runs)

Runs the bench scripts (``BENCHES``: each some times, as subprocesses, one after the other:
run it on a quiet machine), and the two runs at scale that
issue 12 accepts the rate cortex by (``SCALE_RUNS``: embedded Reber, 1,000 training strings, at
65,536 units x 1 replica and 16,384 x 3; each one ``neurosteer run`` process, whose peak resident
memory is read from the kernel's accounting of that child). Every output lands in
``bench/results.json`` with the commit and date each part ran at. The block between the ``bench:start`` /
``bench:end`` markers of README.md is rendered from that JSON by :func:`render` (medians over the
runs, with their range), and tests/test_docs.py checks that the README holds exactly that.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from study_tables import replace_block  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

#: script -> (arguments, runs)
BENCHES = {
    "rate_cortex": ([], 3),
    "spiking_cortex": (["--size-sim-s", "5"], 4),  # single ratios move by up to ~0.1 on a shared VM
    "sweep_overhead": ([], 1),
}
#: name -> overrides of configs/language/embedded_reber.yaml
SCALE_RUNS = {
    "65536x1": ["cortex.n_units=65536", "replicas=1", "cortex.in_degree=100", "cortex.readout.kind=projected_rls"],
    "16384x3": ["cortex.n_units=16384", "replicas=3", "cortex.in_degree=100", "cortex.readout.kind=projected_rls"],
}
SCALE_CONFIG = "configs/language/embedded_reber.yaml"


def run_bench(script: str, args: list[str]) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / f"{script}.py"), *args], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_at_scale(overrides: list[str]) -> dict:
    """One ``neurosteer run`` process: its wall time, peak resident memory and test metric."""
    import time

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "experiments", "run", SCALE_CONFIG, "--quiet", "--no-plots", "--out", tmp]
        for o in overrides:
            cmd += ["--set", o]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(cmd)} failed")
        metrics = json.loads(next(Path(tmp).rglob("metrics.json")).read_text())
    return {"wall_s": round(wall, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024),
            "test_longrange_accuracy": metrics["test"]["longrange_accuracy"]}


# ------------------------------------------------------------------------------------ render
def _stat(values: list[float], digits: int = 2) -> str:
    """Median of the runs, with their range when they differ: '1.76 [1.71-1.78]'."""
    import statistics

    med = statistics.median(values)
    lo, hi = min(values), max(values)
    rng = "" if round(lo, digits) == round(hi, digits) else f" [{lo:.{digits}f}-{hi:.{digits}f}]"
    return f"{med:.{digits}f}{rng}"


def _by_size(runs: list[dict], key: str, sizes, digits: int = 2) -> str:
    return " / ".join(_stat([r[key][str(n)] for r in runs], digits) for n in sizes)


def render(results: dict) -> str:
    """The README block (without markers) from the JSON."""
    rate, spk, scale = results["rate_cortex"], results["spiking_cortex"], results["scale_runs"]
    gits = {m["git"][:10] for m in results["measured"].values()}
    days = {m["date"] for m in results["measured"].values()}
    sizes = (1024, 4096, 16384, 65536)
    loads = [r["load_avg_1min"] for r in rate]
    mem = " / ".join(f"{r['peak_rss']} ({r['estimate']})" for r in (rate[0]["memory_mib"][str(n)] for n in sizes))
    steps = " / ".join(f"{round(sum(r['steps_per_s'][str(n)]['full'] for r in rate) / len(rate)):,}" for n in sizes)
    cpu = " / ".join(_stat([r["by_size_s"][str(n)]["cpu_ratio"] for r in spk]) for n in (4000, 8000))
    big, three = scale["65536x1"], scale["16384x3"]
    sweep = results["sweep_overhead"][0]
    return "\n".join([
        f"Measured by `python tools/bench_numbers.py` on {' / '.join(sorted(days))} (git {' / '.join(sorted(gits))}; "
        f"{len(rate)} runs of `bench/rate_cortex.py`, {len(spk)} of `bench/spiking_cortex.py --size-sim-s 5`, "
        f"load {min(loads):.1f}-{max(loads):.1f} during the rate runs); each figure is the median over the runs, their range in "
        "brackets; the outputs are in `bench/results.json`.",
        "",
        "- Rate cortex, 1,024 / 4,096 / 16,384 / 65,536 units (float64, one replica): `full_vs_handwritten` "
        f"{_by_size(rate, 'full_vs_handwritten', sizes)}; `full_vs_bare` {_by_size(rate, 'full_vs_bare', sizes)}; "
        f"`flop_fraction` {_by_size(rate, 'flop_fraction', sizes)}; full steps per second {steps}; peak resident "
        f"memory of one replica {mem} MiB (the validation estimate in brackets).",
        f"- float32 over float64 at 1,024 / 4,096: `float32_vs_float64` "
        f"{_by_size(rate, 'float32_vs_float64', (1024, 4096))}; of its parts, the readout's BLAS-3 calls "
        f"(`readout_blas_float32_vs_float64`) {_by_size(rate, 'readout_blas_float32_vs_float64', (1024, 4096))} and "
        f"the sparse recurrence (`recurrence_float32_vs_float64`) "
        f"{_by_size(rate, 'recurrence_float32_vs_float64', (1024, 4096))}.",
        f"- 16 replicas batched vs 16 sequential runs at 1,000 units: `replicas16_speedup` "
        f"{_stat([r['replicas16_speedup'] for r in rate])} (`replicas16_bound` {_stat([r['replicas16_bound'] for r in rate])}); "
        f"at 32 / 64 / 128 / 256 units {_by_size(rate, 'replicas16_speedup_by_units', (32, 64, 128, 256), 1)}.",
        f"- Spiking cortex, 400 neurons on cython (40 s simulated, 3 replicas): `ours_vs_handwritten` "
        f"{_stat([r['ours_vs_handwritten'] for r in spk])} ({_stat([r['ours_incl_readout_vs_handwritten'] for r in spk])} "
        f"with the readout ours also trains); `closed_vs_open` {_stat([r['closed_vs_open'] for r in spk])}. "
        f"On cpp_standalone at 4,000 / 8,000 neurons (`ours_vs_handwritten_by_size`, 5 s simulated): "
        f"{_by_size(spk, 'ours_vs_handwritten_by_size', (4000, 8000))} (CPU-time ratios {cpu}).",
        f"- Embedded Reber at scale (`{SCALE_CONFIG}`, 1,000 training strings, in-degree 100, `projected_rls`): "
        f"65,536 units x 1 replica {big['wall_s'] / 60:.1f} min, {big['peak_rss_mib']:,} MiB peak, test "
        f"`longrange_accuracy` {big['test_longrange_accuracy']:.3f}; 16,384 units x 3 replicas "
        f"{three['wall_s'] / 60:.1f} min, {three['peak_rss_mib']:,} MiB, {three['test_longrange_accuracy']:.3f}.",
        f"- Sweeps on Dask ({sweep['runs']} runs of {sweep['run_wall_mean_s']:.1f} s): `speedup_2_workers` "
        f"{sweep['speedup_2_workers']:.2f}; `dispatch_overhead_s` {sweep['dispatch_overhead_s']:.2f} per run; "
        f"fixed costs: cluster start {sweep['cluster_start_s']:.1f} s, sweep plots {sweep['plot_s']:.1f} s.",
    ])


def write_readme(results: dict) -> None:
    replace_block(README, START, END, render(results))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="only re-render the README block from the JSON")
    parser.add_argument("--only", nargs="+", choices=[*BENCHES, "scale_runs"], help="re-run only these")
    args = parser.parse_args(argv)
    if not args.write:
        sys.path.insert(0, str(ROOT))
        from experiments.rundir import git_info

        only = set(args.only or [*BENCHES, "scale_runs"])
        results = json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
        git, today = git_info()["hash"], date.today().isoformat()
        measured = results.setdefault("measured", {})  # part -> the commit and day it was run at
        save = lambda: RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")  # noqa: E731
        for script, (extra, runs) in BENCHES.items():
            if script not in only:
                continue
            results[script], measured[script] = [], {"git": git, "date": today}
            for i in range(runs):
                print(f"[bench_numbers] {script} {' '.join(extra)} ({i + 1}/{runs})", file=sys.stderr, flush=True)
                results[script].append(run_bench(script, extra))
                save()  # a run that fails later loses nothing measured before it
        if "scale_runs" in only:
            results["scale_runs"], measured["scale_runs"] = {}, {"git": git, "date": today}
            for name, overrides in SCALE_RUNS.items():
                print(f"[bench_numbers] {SCALE_CONFIG} {' '.join(overrides)}", file=sys.stderr, flush=True)
                results["scale_runs"][name] = {"overrides": overrides, **run_at_scale(overrides)}
                save()
    write_readme(json.loads(RESULTS.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
