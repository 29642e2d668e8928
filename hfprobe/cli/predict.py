"""`hfprobe predict SOURCE...`: route each model to its tree expert and print its top categories."""

from __future__ import annotations

from .common import SOURCE_HELP, add_flags, each_source, hub_command, pick_device, use_threads


def register(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="predict what a model was fine-tuned on (tree expert, or zero-shot labels)",
        description="Route a model (file, folder or Hub repo) to its tree's expert, read the one layer "
        "it needs, and print the top-k categories; zero-shot over --labels / --vocab.",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help=SOURCE_HELP)
    lab = p.add_mutually_exclusive_group()
    lab.add_argument("--labels", help="comma-separated candidate categories (zero-shot)")
    lab.add_argument("--vocab", help="file with one candidate category per line (zero-shot)")
    p.add_argument("--top-k", type=int, default=5, help="how many categories (default 5)")
    p.add_argument(
        "--experts", help="folder of expert folders, one expert folder, or a Hub repo id (default: the hfprobe cache)"
    )
    p.add_argument("--text-encoder", help="text encoder id (must match the expert's; default: the expert's own)")
    add_flags(p, threads=True, threads_default=0, token=True, hub=True, device=True)
    p.set_defaults(run=run)


def read_labels(args) -> list[str] | None:
    from ..text.vocab import read_vocab_file

    if args.labels is not None:
        return [x.strip() for x in args.labels.split(",")]  # blanks are refused by check_labels, not dropped
    if args.vocab:
        return read_vocab_file(args.vocab)
    return None


@hub_command
def run(args) -> int:
    from ..experts.predict import predict

    use_threads(args, deferred=True)
    dev = args.device or "auto"  # auto and cpu are resolved when an expert first scores: an abstention needs no torch
    if dev not in ("auto", "cpu"):
        dev = pick_device(args)  # an accelerator named outright is checked once, before the batch
    labels = read_labels(args)
    enc = None
    if args.text_encoder:
        from ..text.encoders import get_text_encoder

        enc = get_text_encoder(args.text_encoder)

    def answer(spec: str) -> dict:
        return predict(
            spec, labels=labels, top_k=args.top_k, experts=args.experts, text_encoder=enc, token=args.token, device=dev
        )

    return each_source(args, answer, format_prediction)


def _tree_words(tree: dict) -> str:
    """The family and root, each with how sure `inspect` is of it where it says, and the tree the root is in where
    the root was tuned from another (as `inspect`'s `tree` line).

    >>> _tree_words({"family": "sd2", "family_confidence": 1.0, "root": "org/a", "root_confidence": 0.33})
    'family sd2 (confidence 1.00), root org/a (confidence 0.33)'
    >>> _tree_words({"id": "org/base", "confidence": 0.66, "family": "sd2", "root": "org/a", "root_confidence": 0.33})
    'family sd2, root org/a (confidence 0.33); tree org/base (confidence 0.66; the root was tuned from it)'
    >>> _tree_words({"family": None, "root": None})
    'family unknown, root unknown'
    """

    def sure(value, why: str = "") -> str:
        if isinstance(value, (int, float)):
            return f" (confidence {value:.2f}{why})"
        return f" ({why.removeprefix('; ')})" if why else ""

    family, root, top = tree.get("family"), tree.get("root"), tree.get("id")
    words = (
        f"family {family or 'unknown'}{sure(tree.get('family_confidence')) if family else ''}, "
        f"root {root or 'unknown'}{sure(tree.get('root_confidence')) if root else ''}"
    )
    if top and root and top != root:
        words += f"; tree {top}{sure(tree.get('confidence'), '; the root was tuned from it')}"
    return words


def format_prediction(out: dict) -> str:
    """The human-readable answer of `predict`: probabilities where they are calibrated, the decision, and a
    warning where the expert is near chance on its own test models."""
    lines = [f"source:  {out['source']}", f"tree:    {_tree_words(out['tree'])}"]
    if out.get("passed_over") and out.get("files"):  # several weights files here: which one answers
        lines.insert(1, f"file:    {out['files'][0]} ({out['passed_over']['count']} other weights files here not read)")
    if out.get("head"):  # what it was trained on, read from its weights without an expert: its classifier
        from ..formats.head import head_words

        lines.append(f"head:    {head_words(out['head'])}")
    readout = out.get("readout")
    if out["expert"] is None:
        lines.append(f"expert:  none (abstained): {out['routing']['reason']}")
        if readout is None:
            return "\n".join(lines)
        if readout["abstained"]:
            lines.append(f"readout: abstained: {readout['reason']}")
            return "\n".join(lines)
    else:
        e = out["expert"]
        lines.append(f"expert:  {e['name']} (layer {e['layer']}, {out['method']}; {out['routing']['reason']})")
    if out["method"] == "readout":
        p_right = readout.get("probability_right")
        lines.append(
            f"readout: zero-shot from cross-attention deltas over {readout['labels']} labels "
            f"(margin {readout['margin']:.2f}"
            + (f"; probability the top label is right: {p_right:.2f}" if p_right is not None else "")
            + "); scores are z-scores"
        )
    elif out.get("calibration"):
        lines.append(f"scores:  probabilities, {out['calibration']['note']}")
    if out.get("near_chance"):
        lines.append(f"warning: {out.get('near_chance_reason') or 'the expert is near chance on its own test models'}")
    for i, p in enumerate(out["predictions"], 1):
        if p.get("probability") is not None and p.get("calibration") != "readout-margin":
            mark = "" if "decided" not in p else ("  decided" if p["decided"] else "  below threshold")
            lines.append(f"  {i}. {p['label']:<30} p={p['probability']:.2f}{mark}")
        else:
            lines.append(f"  {i}. {p['label']:<30} {p['score']:.3f}")
    decision = out.get("decision") or {}
    if "threshold" in decision:
        lines.append(f"labels:  {', '.join(decision['labels']) or 'none'} (p >= {decision['threshold']:.2f})")
    lines.append(f"read:    {out['bytes_read']} bytes")
    return "\n".join(lines)
