"""Sweep files: expansion of grid / zip / random / seeds axes, and validation (exit 2, every problem
as FILE: key.path: message, nothing written), cluster options and batch job scripts."""

from __future__ import annotations

import os

import pytest
import yaml

from experiments.errors import InputError
from experiments.sweep.engines import make_cluster, merge_options
from experiments.sweep.spec import ClusterOptions, expand, format_override, load_cluster_profile, load_sweep
from sweep_helpers import BASE, ROOT, cli_sweep, write_sweep

# ---------------------------------------------------------------------------------------------
# expansion


def test_grid_zip_seeds_make_the_cartesian_product(tmp_path):
    path = write_sweep(
        tmp_path,
        grid={"cortex.n_units": [8, 16, 32], "cortex.density": [0.1, 0.2]},
        zip={"cortex.leak_min": [0.05, 0.1], "cortex.input_scale": [1.0, 2.0]},
        seeds=2,
    )
    points = expand(load_sweep(path))
    assert len(points) == 3 * 2 * 2 * 2
    combos = {tuple(p.params.values()) for p in points}
    assert len(combos) == len(points)
    # zip pairs its lists element by element, never crossed
    assert {(p.params["cortex.leak_min"], p.params["cortex.input_scale"]) for p in points} == {(0.05, 1.0), (0.1, 2.0)}
    assert {p.params["seed"] for p in points} == {0, 1}
    assert "cortex.n_units=8" in points[0].overrides and "seed=0" in points[0].overrides


def test_seed_list_and_fixed_overrides(tmp_path):
    path = write_sweep(tmp_path, set={"cortex.n_units": 12}, seeds=[3, 11])
    points = expand(load_sweep(path))
    assert [p.params for p in points] == [{"seed": 3}, {"seed": 11}]
    assert all(p.overrides[0] == "cortex.n_units=12" for p in points)


def test_random_axis_is_seeded_and_within_its_ranges(tmp_path):
    random = {"n": 20, "seed": 5, "params": {
        "cortex.spectral_radius": {"uniform": [0.5, 1.5]},
        "cortex.input_scale": {"loguniform": [0.01, 10.0]},
        "cortex.n_units": {"randint": [8, 12]},
        "cortex.activation": {"choice": ["tanh", "linear"]},
    }}
    first = [p.params for p in expand(load_sweep(write_sweep(tmp_path, "a.yaml", random=random)))]
    again = [p.params for p in expand(load_sweep(write_sweep(tmp_path, "b.yaml", random=random)))]
    other = [p.params for p in expand(load_sweep(write_sweep(tmp_path, "c.yaml", random={**random, "seed": 6})))]
    assert first == again and first != other
    assert len(first) == 20
    assert all(0.5 <= p["cortex.spectral_radius"] <= 1.5 for p in first)
    assert all(0.01 <= p["cortex.input_scale"] <= 10.0 for p in first)
    assert {p["cortex.n_units"] for p in first} <= set(range(8, 13))
    assert {p["cortex.activation"] for p in first} == {"tanh", "linear"}


@pytest.mark.parametrize("value", [16, 0.1, 1e-5, 3.0e20, "tanh", "yes", "1e-4", True, None, [1, 2], {"a": 1}])
def test_override_values_read_back_exactly(value):
    key, text = format_override("a.b", value).split("=", 1)
    assert key == "a.b" and yaml.safe_load(text) == value


def test_a_base_entry_sets_keys_for_its_own_runs_only(tmp_path):
    """`base: [a, {config: b, set: {...}}]`: b's runs get its overrides, a's do not; the key is a
    recorded parameter (a results.csv column) and the same config may appear with two sets."""
    from experiments.sweep.spec import resolve

    path = write_sweep(tmp_path, base=[str(BASE), {"config": str(BASE), "set": {"cortex.density": 0.3}},
                                       {"config": str(BASE), "set": {"cortex.density": 0.4}}],
                       grid={"cortex.n_units": [8, 16]})
    sweep = load_sweep(path)
    assert sweep.param_names == ["cortex.n_units", "cortex.density"]
    points = expand(sweep)
    assert [p.params.get("cortex.density") for p in points] == [None, None, 0.3, 0.3, 0.4, 0.4]
    assert "cortex.density=0.3" in points[2].overrides and not any("density" in o for o in points[0].overrides)
    runs = resolve(sweep, points)
    assert len(runs) == 6 and [r.resolved["cortex"]["density"] for r in runs][2:] == [0.3, 0.3, 0.4, 0.4]


# ---------------------------------------------------------------------------------------------
# validation: exit 2, every problem as FILE: key.path: message, nothing written


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"seedz": 3}, "seedz: unknown key; did you mean 'seeds'?"),
        ({"zip": {"cortex.n_units": [8, 16], "cortex.density": [0.1]}}, "zip: lists must have equal lengths"),
        ({"grid": {"cortex.n_units": []}}, "grid.cortex.n_units: empty list"),
        ({"random": {"n": 2, "params": {"cortex.density": {"uniform": [0.5, 0.1]}}}}, "random.params.cortex.density: low > high"),
        ({"grid": {"seed": [1, 2]}, "seeds": 2}, "seeds.seed: already set in grid"),
        ({"base": "missing.yaml"}, "base: no such file"),
        ({"cluster": {"queu": "short"}}, "cluster.queu: unknown key; did you mean 'queue'?"),
        ({"base": [str(BASE), {"confg": str(BASE)}]}, "base.1.confg: unknown key; did you mean 'config'?"),
        ({"base": [str(BASE), {"config": "missing.yaml"}]}, "base.1.config: no such file"),
        ({"base": [{"config": str(BASE), "set": {"cortex.n_units": 8}}], "grid": {"cortex.n_units": [8]}},
         "base.0.set.cortex.n_units: already set in grid"),
        ({"base": [str(BASE), {"config": str(BASE), "set": {"cortex.n_unitz": 8}}]}, "base.1.set.cortex.n_unitz: unknown key"),
    ],
    ids=["unknown-key", "zip-lengths", "empty-grid", "low-high", "seed-twice", "missing-base", "cluster-key",
         "base-entry-key", "base-entry-file", "base-entry-twice", "base-entry-config-key"],
)
def test_bad_sweep_file_is_rejected_with_its_key(tmp_path, capsys, body, expected):
    path = write_sweep(tmp_path, **body)
    out = tmp_path / "out"
    assert cli_sweep(path, out_dir=out, quiet=True) == 2
    err = capsys.readouterr().err
    assert f"{path}: {expected}" in err
    assert not out.exists()


def test_the_python_api_raises_bad_input_and_writes_nothing(tmp_path):
    from experiments.sweep.run import plan, run_sweep

    path = write_sweep(tmp_path, seedz=3, grid={"cortex.n_units": []})
    for call in (lambda: plan(path), lambda: run_sweep(path, out_dir=tmp_path / "out")):
        with pytest.raises(InputError) as info:
            call()
        assert info.value.problems == [f"{path}: seedz: unknown key; did you mean 'seeds'?"]
    assert not (tmp_path / "out").exists()


def test_unknown_config_keys_in_axes_name_the_sweep_section(tmp_path, capsys):
    path = write_sweep(tmp_path, set={"cortex.n_unitz": 8}, grid={"world.p_firts": [0.2, 0.8]})
    assert cli_sweep(path, out_dir=tmp_path / "out", quiet=True) == 2
    lines = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"{path}: set.cortex.n_unitz: unknown key") for line in lines)
    assert any(line.startswith(f"{path}: grid.world.p_firts: unknown key") for line in lines)
    assert len(lines) == 2  # one line per problem, not one per run
    assert not (tmp_path / "out").exists()


def test_invalid_value_for_some_points_is_caught_before_anything_runs(tmp_path, capsys):
    path = write_sweep(tmp_path, grid={"cortex.n_units": [16, 1]})
    assert cli_sweep(path, out_dir=tmp_path / "out", quiet=True) == 2
    assert f"{path}: grid.cortex.n_units:" in capsys.readouterr().err


def test_bad_engine_is_bad_input(tmp_path, capsys):
    path = write_sweep(tmp_path, seeds=1)
    assert cli_sweep(path, out_dir=tmp_path / "out", engine="kubernetes") == 2
    assert "--engine: kubernetes:" in capsys.readouterr().err


def test_dry_run_lists_run_ids_and_overrides_and_writes_nothing(tmp_path, capsys):
    path = write_sweep(tmp_path, set={"phases.train.strings": 10}, grid={"cortex.n_units": [8, 16]}, seeds=2)
    assert cli_sweep(path, out_dir=tmp_path / "out", dry_run=True) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "4 runs; every run also sets: phases.train.strings=10"
    ids = [line.split()[0] for line in lines[1:]]
    assert len(set(ids)) == 4 and all(len(i) == 12 for i in ids)
    assert lines[1].endswith("cortex.n_units=8 seed=0")
    assert not (tmp_path / "out").exists()


def test_cluster_options_from_profile_under_the_sweep_file(tmp_path):
    profile = tmp_path / "site.yaml"
    profile.write_text("queue: short\naccount: lab\nwalltime: '04:00:00'\n")
    merged = merge_options(load_cluster_profile(profile), ClusterOptions(walltime="00:30:00", cores=4))
    assert (merged.queue, merged.account, merged.walltime, merged.cores) == ("short", "lab", "00:30:00", 4)
    profile.write_text("queue: [1\n")
    with pytest.raises(InputError, match="site.yaml: \\(file\\): invalid YAML"):
        load_cluster_profile(profile)


@pytest.mark.parametrize("engine, directives", [
    ("pbs", ["#PBS -q short", "#PBS -A lab42", "#PBS -l walltime=02:00:00", "#PBS -l place=scatter", "ncpus=4"]),
    ("slurm", ["#SBATCH -p short", "#SBATCH -A lab42", "#SBATCH -t 02:00:00", "#SBATCH --constraint=avx2",
               "#SBATCH --cpus-per-task=4"]),
])
def test_batch_job_script_carries_the_cluster_block(tmp_path, engine, directives):
    pytest.importorskip("dask_jobqueue", reason="the slurm and pbs engines need the [cluster] extra")
    extra = "-l place=scatter" if engine == "pbs" else "--constraint=avx2"
    path = write_sweep(tmp_path, cluster={
        "queue": "short", "account": "lab42", "walltime": "02:00:00", "memory": "8GB", "cores": 4,
        "job_extra_directives": [extra], "job_script_prologue": ["module load python/3.11"],
    })
    with make_cluster(engine, load_sweep(path).spec.cluster, tmp_path) as cluster:
        script = cluster.job_script()
    for line in directives:
        assert line in script
    assert "module load python/3.11" in script
    # one single-threaded worker process per core
    assert "--nthreads 1" in script and "--nworkers 4" in script
    assert str(tmp_path / "worker-logs") in script




def test_tests_of_an_extra_that_is_not_installed_skip(tmp_path):
    """Without dask-jobqueue (the [cluster] extra) the tests that need it skip, with the reason."""
    import subprocess
    import sys

    blocker = tmp_path / "no_extras" / "dask_jobqueue"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ModuleNotFoundError('hidden by the test', name='dask_jobqueue')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(blocker.parent), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/test_sweep_spec.py",
         "tests/test_sweep.py", "tests/test_sweep_slurm.py", "-m", "not slow",
         "-k", "batch_job_script or refused_slurm or dashboard_port"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "failed" not in done.stdout and " skipped" in done.stdout
    assert "[cluster] extra" in done.stdout
