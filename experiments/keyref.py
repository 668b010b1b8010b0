"""Generate the README's reference of every YAML key from the params models themselves.

``python -m experiments.keyref`` prints Markdown; the README section between the markers
``<!-- keyref:start -->`` and ``<!-- keyref:end -->`` is that output (a test keeps them in sync,
``python -m experiments.keyref --write README.md`` refreshes it).
"""
from __future__ import annotations

import argparse
import sys
import typing

from pydantic import BaseModel

START, END = "<!-- keyref:start -->", "<!-- keyref:end -->"


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is tuple and typing.get_args(annotation)[-1:] == (Ellipsis,):
        return f"list of {_type_name(typing.get_args(annotation)[0])}"
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "null")


def _constraints(info) -> str:
    parts = []
    for meta in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value}")
    return ", ".join(parts)


def table(model: type[BaseModel], prefix: str, skip=("backend", "model")) -> list[str]:
    """Rows ``| key | type | default | meaning |`` for ``model``, recursing into nested models."""
    rows = []
    for name, info in model.model_fields.items():
        if name in skip and prefix.startswith(("cortex", "subcortex")):
            continue
        ann = info.annotation
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows += table(ann, key, skip=())
            continue
        default = "required" if info.is_required() else repr(info.get_default(call_default_factory=True))
        rng = _constraints(info)
        desc = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type_name(ann)}{' (' + rng + ')' if rng else ''} | `{default}` | {desc} |")
    return rows


def render() -> str:
    from cortex import model_registry
    from experiments.spec import Header, PhaseSpec, RecordingSpec
    from experiments.worlds import WORLDS

    head = ["| key | type | default | meaning |", "|---|---|---|---|"]
    out = ["### Run", "", *head, *table(Header, ""), "",
           "### Phases (`phases:` is a list; each item has these keys)", "", *head, *table(PhaseSpec, "phases[]"), "",
           "### Recording", "", *head, *table(RecordingSpec, "recording"), ""]
    for kind, entry in sorted(WORLDS.items()):
        out += [f"### World `kind: {kind}` ({entry.family}; phases set `{entry.phase_length}`)", "",
                (entry.cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "), "",
                "Any key below may also be overridden per variant: `world.variants.NAME.KEY`.", "",
                *head, *table(entry.Params, "world"), ""]
    for (backend, model), (params, _) in sorted(model_registry().items()):
        out += [f"### Cortex `backend: {backend}`, `model: {model}`", "", *head, *table(params, "cortex"), ""]
    try:
        from subcortex.params import SubcortexParams
    except ModuleNotFoundError:
        SubcortexParams = None
    if SubcortexParams is not None:
        from subcortex.params import REFLEX_MODELS, RULE_MODELS
        from subcortex.rules import REFLEXES, RULES

        out += ["### Subcortex (closed-loop worlds only)", "", *head, *table(SubcortexParams, "subcortex"), ""]
        for kind, models, funcs in (("rule", RULE_MODELS, RULES), ("reflex", REFLEX_MODELS, REFLEXES)):
            for name, model in sorted(models.items()):
                doc = (funcs[name].__doc__ or "").strip().split("\n")[0]
                out += [f"#### `subcortex.{kind}s[]`: `{kind}: {name}`", "", doc, "", *head,
                        *table(model, f"subcortex.{kind}s[]", skip=(kind,)), ""]
        from subcortex.params import SequenceSubcortexParams, VoiceGateParams

        doc = " ".join((SequenceSubcortexParams.__doc__ or "").split())
        out += ["### Subcortex of sequence worlds: `subcortex.voice_gate`", "",
                f"{doc} Without the block (or with `voice_gate: null`), nothing is gated.", "",
                *head, *table(VoiceGateParams, "subcortex.voice_gate"), ""]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", metavar="README", help="replace the marked section of this file")
    args = parser.parse_args(argv)
    text = render()
    if not args.write:
        print(text)
        return 0
    with open(args.write) as fh:
        readme = fh.read()
    if START not in readme or END not in readme:
        print(f"{args.write}: markers {START} / {END} not found", file=sys.stderr)
        return 2
    before, rest = readme.split(START, 1)
    after = rest.split(END, 1)[1]
    with open(args.write, "w") as fh:
        fh.write(f"{before}{START}\n{text}\n{END}{after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
