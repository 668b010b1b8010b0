"""Experiment YAML -> validated, frozen ``ExperimentSpec`` (experiments/spec.py).

Every problem in a file is collected (not just the first) and raised as one
``experiments.errors.InputError``, each as ``FILE: key.path: message (line N)``. Components are
named in YAML (``world.kind``, ``cortex.backend`` + ``cortex.model``) and looked up in plain
registries; each component owns a pydantic ``Params`` model whose field names are the YAML keys.
Unknown keys are errors. The rules that relate components to each other (which worlds take a
subcortex, what a codegen target can run, recorded units vs cortex size) are checked here too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from experiments.errors import InputError, Problems, unknown
from experiments.overrides import apply_overrides
from experiments.spec import ExperimentSpec, Header, PhaseSpec, RecordingSpec, WorldSpec
from experiments.yamlpos import YamlSyntaxError, load_with_lines

TOP_KEYS = ("name", "description", "seed", "replicas", "world", "cortex", "subcortex", "phases", "recording")


# ---------------------------------------------------------------------------------------------
# loading


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = (), check_memory: bool = True) -> ExperimentSpec:
    """Read, override and validate an experiment file. Raises :class:`InputError`.

    ``check_memory=False`` skips the refusal of a cortex too big for this machine's free memory:
    for resolving a config that is not to run here (its run id, a study's bookkeeping)."""
    source = str(path)
    path = Path(path)
    if not path.exists():
        raise InputError([f"{source}: (file): file not found"])
    if not path.is_file():
        raise InputError([f"{source}: (file): not a file"])
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([f"{source}: (file): cannot read: {exc}"]) from None
    try:
        raw, lines = load_with_lines(text)
    except YamlSyntaxError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        raise InputError([f"{source}: (syntax): {exc}{where}"]) from None
    if raw is None:
        raise InputError([f"{source}: (top level): the file is empty"])
    problems = Problems(source, lines)
    if isinstance(raw, dict):
        apply_overrides(raw, overrides, problems)
        raw.setdefault("name", path.stem)
    spec = validate(raw, problems, check_memory)
    return spec


def loads(text: str, overrides=(), source: str = "<string>") -> ExperimentSpec:
    """Like :func:`load` for YAML text (notebooks, tests)."""
    try:
        raw, lines = load_with_lines(text)
    except YamlSyntaxError as exc:
        raise InputError([f"{source}: (syntax): {exc}"]) from None
    problems = Problems(source, lines)
    if isinstance(raw, dict):
        apply_overrides(raw, overrides, problems)
    return validate(raw, problems)


# ---------------------------------------------------------------------------------------------
# validation


def validate(raw: Any, problems: Problems, check_memory: bool = True) -> ExperimentSpec:
    """Validate plain data (already overridden) into an :class:`ExperimentSpec`."""
    from cortex import model_registry
    from cortex.spiking.params import target_limit
    from experiments.worlds import WORLDS

    if not isinstance(raw, dict):
        problems.add((), f"the top level must be a mapping of keys, got {type(raw).__name__}")
        problems.raise_if_any()
    for key in raw:
        if key not in TOP_KEYS:
            problems.add((key,), unknown(key, TOP_KEYS))
    header = _model(Header, {k: raw[k] for k in ("name", "description", "seed", "replicas") if k in raw}, (), problems)
    recording = _model(RecordingSpec, _mapping(raw.get("recording", {}), ("recording",), problems), ("recording",), problems)

    world = None
    world_cls = None
    world_raw = _mapping(raw.get("world"), ("world",), problems, required=True)
    if world_raw is not None:
        kind = world_raw.get("kind")
        if kind is None:
            problems.add(("world", "kind"), f"required key is missing; choose from: {', '.join(sorted(WORLDS))}")
        elif kind not in WORLDS:
            problems.add(("world", "kind"), unknown(kind, WORLDS, what="world kind"))
        else:
            world_cls = WORLDS[kind]
            world = _world(world_cls, kind, world_raw, problems)

    cortex = None
    cortex_raw = _mapping(raw.get("cortex"), ("cortex",), problems, required=True)
    if cortex_raw is not None:
        registry = model_registry()
        backend, model = cortex_raw.get("backend"), cortex_raw.get("model")
        backends = sorted({b for b, _ in registry})
        if backend not in backends:
            problems.add(("cortex", "backend"), unknown(backend, backends, what="backend") if backend else f"required key is missing; choose from: {', '.join(backends)}")
        elif (backend, model) not in registry:
            models = sorted(m for b, m in registry if b == backend)
            problems.add(("cortex", "model"), unknown(model, models, what=f"{backend} model") if model else f"required key is missing; choose from: {', '.join(models)}")
        else:
            params_cls = registry[(backend, model)][0]
            family = getattr(world_cls, "family", None)
            why = target_limit(str(cortex_raw.get("target")), family)
            if why:  # what a codegen target cannot run is declared once, in cortex
                problems.add(("cortex", "target"), f"{why}; world.kind '{world_raw.get('kind')}' is a {family} "
                             "world; use cython (or auto)")
                cortex_raw = {k: v for k, v in cortex_raw.items() if k != "target"}  # reported once
            cortex = _model(params_cls, cortex_raw, ("cortex",), problems)

    subcortex = None
    family = getattr(world_cls, "family", None)
    if "subcortex" in raw:
        if family == "sequence":  # innate teaching signals only (the voice gate)
            subcortex = _model(_subcortex_params("sequence"), _mapping(raw["subcortex"], ("subcortex",), problems),
                               ("subcortex",), problems)
            _voice_gate_fits(subcortex, cortex, problems)
        elif family is not None and family != "closed_loop":
            problems.add(("subcortex",), f"not used by {family} worlds (world.kind: {world.kind if world else '?'}); remove it")
        elif family == "closed_loop":
            if isinstance(raw["subcortex"], dict) and "voice_gate" in raw["subcortex"]:
                problems.add(("subcortex", "voice_gate"), "only for sequence (grammar) worlds, whose strings have a voice; "
                             f"world.kind '{world.kind if world else '?'}' is a closed-loop world")
                raw = {**raw, "subcortex": {k: v for k, v in raw["subcortex"].items() if k != "voice_gate"}}
            subcortex = _model(_subcortex_params(), _mapping(raw["subcortex"], ("subcortex",), problems), ("subcortex",), problems)
    elif family == "closed_loop":
        subcortex = _subcortex_params()()
    if family == "sequence" and world is not None:
        _distractors_fit(world_cls, world, problems)

    phases = _phases(raw.get("phases"), world, world_cls, problems)
    if check_memory and cortex is not None and header is not None:  # refuse now what the kernel would kill an hour in
        fits = getattr(cortex, "memory_refusal", None)
        why = fits(header.replicas) if fits is not None else None
        if why:
            problems.add(("cortex", "n_units"), why)
    if cortex is not None and recording is not None and recording.sample_units > cortex.n_units:
        problems.add(("recording", "sample_units"), f"{recording.sample_units} exceeds cortex.n_units ({cortex.n_units})")
    problems.raise_if_any()
    return ExperimentSpec(header=header, world=world, cortex=cortex, subcortex=subcortex, phases=phases,
                          recording=recording, source=problems.source)


def _subcortex_params(family: str = "closed_loop"):
    from subcortex.params import SequenceSubcortexParams, SubcortexParams

    return SequenceSubcortexParams if family == "sequence" else SubcortexParams


def _voice_gate_fits(subcortex, cortex, problems: Problems) -> None:
    """A voice gate needs a cortex whose ``run_sequence`` takes a per-step plasticity factor."""
    gate = subcortex.voice_gate if subcortex is not None else None
    if gate is None or not gate.enabled or cortex is None or cortex.step_plasticity:
        return
    from cortex import model_registry

    able = ", ".join(f"{b} {m}" for (b, m), (params, _) in sorted(model_registry().items()) if params.step_plasticity)
    problems.add(("subcortex", "voice_gate"), f"not supported by cortex.backend {cortex.backend}, model {cortex.model}: "
                 f"its learning cannot be gated step by step (supported: {able}); remove the block or set "
                 "subcortex.voice_gate.enabled: false")


def _distractors_fit(world_cls, world: WorldSpec, problems: Problems) -> None:
    """Distractor strings end with the grammar's end symbol: refuse them where it has none.

    Every variant is checked as it resolves, so one that inherits the base's ``distractors`` but
    changes the grammar (an fsm with a second end symbol) is caught too; its problem sits at
    ``world.distractors``, where the inherited value was written, and names the variant."""
    for name, params in (("base", world.params), *world.variants.items()):
        if params.distractors <= 0 or world_cls.cls(params).end_symbol is not None:
            continue
        if name == "base":
            problems.add(("world", "distractors"), f"world.kind '{world.kind}' has no single end symbol here, "
                         "which distractor strings end with; use 0")
        elif "distractors" in world.variant_overrides[name]:
            problems.add(("world", "variants", name, "distractors"), f"world.kind '{world.kind}' has no single "
                         "end symbol here, which distractor strings end with; use 0")
        else:
            problems.add(("world", "distractors"), f"variant '{name}' inherits {params.distractors}, but its grammar "
                         "has no single end symbol, which distractor strings end with; set "
                         f"world.variants.{name}.distractors: 0 or give the variant one end symbol")


def _world(world_cls, kind: str, world_raw: dict, problems: Problems) -> WorldSpec | None:
    base_raw = {k: v for k, v in world_raw.items() if k not in ("kind", "variants")}
    base = _model(world_cls.Params, base_raw, ("world",), problems)
    variants, overrides = {}, {}
    variants_raw = _mapping(world_raw.get("variants", {}), ("world", "variants"), problems)
    for name, over in (variants_raw or {}).items():
        path = ("world", "variants", name)
        if name == "base":
            problems.add(path, "'base' is reserved for the world's own parameters")
            continue
        over = _mapping(over, path, problems)
        if over is None:
            continue
        bad = [k for k in over if k in ("kind", "variants")]
        for k in bad:
            problems.add(path + (k,), "a variant cannot change this key")
        merged = {**base_raw, **{k: v for k, v in over.items() if k not in bad}}
        # errors in keys the variant did not write belong to the base block and are reported there
        before = len(problems.items)
        params = _model(world_cls.Params, merged, path, problems)
        problems.items[before:] = [(p, m) for p, m in problems.items[before:] if len(p) <= len(path) or p[len(path)] in over]
        # rules that relate a variant to its base world (foraging: the same observation layout)
        check = getattr(base, "variant_problems", None)
        for sub, message in check(params) if params is not None and check is not None else ():
            problems.add(path + sub, message)
        if params is not None:
            variants[name] = params
            overrides[name] = over
    if base is None:
        return None
    return WorldSpec(kind=kind, params=base, variants=variants, variant_overrides=overrides)


def _phases(raw, world, world_cls, problems: Problems) -> tuple[PhaseSpec, ...]:
    if raw is None:
        problems.add(("phases",), "required key is missing: a list of phases (name, length, plastic)")
        return ()
    if not isinstance(raw, list) or not raw:
        problems.add(("phases",), "must be a non-empty list of phases")
        return ()
    length_key = getattr(world_cls, "phase_length", None)
    seen: set[str] = set()
    phases = []
    for i, item in enumerate(raw):
        phase = _model(PhaseSpec, _mapping(item, ("phases", i), problems), ("phases", i), problems)
        if phase is None:
            continue
        if phase.name in seen:
            problems.add(("phases", i, "name"), f"duplicate phase name '{phase.name}'")
        seen.add(phase.name)
        if world is not None and phase.variant != "base" and phase.variant not in world.variants:
            choices = ["base", *world.variants]
            problems.add(("phases", i, "variant"), unknown(phase.variant, choices, what="variant"))
        if length_key is not None:
            if getattr(phase, length_key) is None:
                problems.add(("phases", i, length_key), f"required for {world.kind if world else 'this'} worlds")
            for other in ("strings", "trials", "duration_s"):
                if other != length_key and getattr(phase, other) is not None:
                    problems.add(("phases", i, other), f"not used by this world; use '{length_key}'")
            if phase.shared_strings and length_key != "strings":
                problems.add(("phases", i, "shared_strings"), "only for grammar worlds (phases measured in strings)")
        phases.append(phase)
    return tuple(phases)


def _mapping(value, path: tuple, problems: Problems, required: bool = False):
    if value is None:
        if required:
            problems.add(path, "required key is missing")
        return None if required else {}
    if not isinstance(value, dict):
        problems.add(path, f"must be a mapping of keys, got {type(value).__name__} {value!r}"[:200])
        return None
    return value


def _model(cls: type[BaseModel], data, path: tuple, problems: Problems):
    if data is None:
        return None
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.add(path + loc, _message(cls, loc, err))
        return None


def _message(cls, loc: tuple, err: dict) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return unknown(str(loc[-1]), _fields_at(cls, loc[:-1]))
    if kind == "missing":
        return "required key is missing"
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if "input" in err and kind not in ("value_error",) and not isinstance(err["input"], (dict, list)):
        msg += f" (got {err['input']!r})"
    return msg


def _fields_at(cls, loc: tuple) -> list[str]:
    """Field names of the (nested) model at ``loc``, for did-you-mean suggestions."""
    for part in loc:
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or part not in cls.model_fields:
            return []
        ann = cls.model_fields[part].annotation
        cls = ann if isinstance(ann, type) else next((a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return list(cls.model_fields) if isinstance(cls, type) and issubclass(cls, BaseModel) else []
