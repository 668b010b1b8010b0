"""Bring the committed studies' run ids up to date after a change that adds config keys but no behaviour.

A run id is the hash of the fully resolved config, defaults included (experiments.sweep.spec.run_id):
so a new key with a default gives every run a new id, and a sweep resuming from a committed
results.csv would run every point again. When the change leaves every metric as it was (check with
``tools/metrics_snapshot.py compare`` first: that is what makes this re-keying honest), this tool
maps each run of every studies/*/*/sweep.json to the id its config resolves to now, and rewrites the
run_id column of every CSV under studies/, the manifests and the local run directories' names.

    python tools/rekey_studies.py           # rewrite
    python tools/rekey_studies.py --check   # exit 1 if any committed id is stale (tests/test_tools.py)
"""
from __future__ import annotations

import argparse
import csv
import io
import json
from collections import Counter
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "studies"
sys.path.insert(0, str(ROOT))


def _local(path: str) -> Path:
    """A manifest's base path (absolute, from the machine that ran it) inside this checkout."""
    parts = Path(path).parts
    if "configs" not in parts:
        raise SystemExit(f"{path}: a manifest's base outside configs/ cannot be found in this checkout")
    return ROOT.joinpath(*parts[parts.index("configs"):])


def current_ids(studies: Path = STUDIES) -> dict[str, str]:
    """Committed run id -> the id its base and overrides resolve to with today's code."""
    from experiments import config
    from experiments.sweep.spec import run_id

    mapping: dict[str, str] = {}
    for manifest in sorted(studies.glob("*/*/sweep.json")):
        for run in json.loads(manifest.read_text())["runs"]:
            spec = config.load(_local(run["base"]), list(run["overrides"]), check_memory=False)   # ids only
            mapping[run["run_id"]] = run_id(spec.resolved())
    return mapping


def _rewrite_csv(path: Path, mapping: dict[str, str]) -> bool:
    text = path.read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "run_id" not in rows[0]:
        return False
    for r in rows:
        r["run_id"] = mapping.get(r["run_id"], r["run_id"])
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    if out.getvalue() == text:
        return False
    path.write_text(out.getvalue())
    return True


def rekey(studies: Path = STUDIES) -> list[Path]:
    """Rewrite every stale id under ``studies``; returns the files changed."""
    mapping = {old: new for old, new in current_ids(studies).items() if old != new}
    merged = {new for new, n in Counter(mapping.values()).items() if n > 1}
    if merged:   # two configs that used to differ now resolve alike: their rows would collide
        raise SystemExit(f"several old run ids map to {', '.join(sorted(merged))}: resolve by hand")
    changed = []
    for path in sorted(studies.rglob("*.csv")):
        if "runs" not in path.relative_to(studies).parts and _rewrite_csv(path, mapping):
            changed.append(path)
    for manifest in sorted(studies.glob("*/*/sweep.json")):
        m = json.loads(manifest.read_text())
        if any(r["run_id"] in mapping for r in m["runs"]):
            for r in m["runs"]:
                old = r["run_id"]
                r["run_id"] = mapping.get(old, old)
                run_dir = manifest.parent / "runs" / old
                if old in mapping and run_dir.is_dir() and not (manifest.parent / "runs" / r["run_id"]).exists():
                    run_dir.rename(manifest.parent / "runs" / r["run_id"])
            manifest.write_text(json.dumps(m, indent=1))  # as experiments.sweep.run writes it
            changed.append(manifest)
    return changed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only report stale ids; exit 1 if there are any")
    a = p.parse_args(argv)
    if a.check:
        stale = {old: new for old, new in current_ids().items() if old != new}
        for old, new in sorted(stale.items()):
            print(f"{old} -> {new}")
        print(f"{len(stale)} stale run ids" + (": run python tools/rekey_studies.py" if stale else ""))
        return 1 if stale else 0
    for path in rekey():
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
