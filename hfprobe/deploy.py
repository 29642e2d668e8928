"""Deploy the Space: `hfprobe space push ORG/NAME` creates or updates a Gradio Space in one commit.

What the commit holds (built by `space_files`, pushed by `push_space`):

- `app.py`: a launcher that runs `hfprobe.space.app` (the page lives in the package, so it is tested with it);
- `hfprobe/`: this hfprobe's own source, exactly as it runs here. A Space installs `requirements.txt` before
  the rest of the repo is copied into its image, so a wheel beside the app cannot be named there; the package
  folder beside `app.py` is importable when the Space runs `python app.py`;
- `requirements.txt`: hfprobe's dependencies with its `space` and `search` extras, pinned to the versions
  installed here where they are installed (the combination the page was tested with), gradio at `sdk_version`;
- `README.md`: the Space card. Its YAML is the Space's configuration (sdk gradio at GRADIO_VERSION,
  `hf_oauth: true` with the scopes the pull-request button needs, `preload_from_hub` for the experts and any
  text encoder they need from the Hub, `models` linking them); text someone wrote outside hfprobe's section and
  YAML keys hfprobe does not set are kept;
- `hfprobe-space.json`: HFPROBE_EXPERTS (the expert repos) and HFPROBE_INDEX (`index/`, when `--index` is
  given) for the app; a Space variable of the same name wins;
- `index/`: a search index built with `hfprobe index add`, when given.

Files under `hfprobe/` (and `index/`, when a new one is given) that an earlier push left and this one does not
write are deleted in the same commit; without `--index` or `--experts`, the Space keeps the ones it has.
Anything else in the Space is left alone.

    >>> push_space("me/hfprobe", experts=["me/hfprobe-experts"], index="index/")   # doctest: +SKIP
    'https://huggingface.co/spaces/me/hfprobe/commit/...'
"""

from __future__ import annotations

import json
import os
import warnings
from functools import partial
from importlib import metadata
from pathlib import Path

from .errors import HfprobeError, SourceNotFoundError, UsageError

GRADIO_VERSION = "6.31.0"  # the Space's sdk_version; constraints.txt pins the same gradio (tests check both)
PYTHON_VERSION = "3.11"
OAUTH_SCOPES = ["read-repos", "write-discussions"]  # read the visitor's repos; open pull requests in their name
EXTRAS = ("space", "search")
TEXT_ENCODER_ROOT = "sentence-transformers/all-MiniLM-L6-v2"  # the default text space (shipped in a pip package)
SETTINGS_FILE = "hfprobe-space.json"
SECTION_START, SECTION_END = "<!-- hfprobe:space-card -->", "<!-- /hfprobe:space-card -->"
_SOURCE_SUFFIXES = (".py", ".json", ".txt", ".md")

LAUNCHER = '''"""The hfprobe Space (written by `hfprobe space push`; in a checkout: `python space/app.py`). The page is
`hfprobe.space.app` (on a Space, the hfprobe/ folder beside this file); its settings are in hfprobe-space.json
beside it, where a variable of the same name in the environment wins."""

from pathlib import Path

from hfprobe.space.app import main

if __name__ == "__main__":
    main(Path(__file__).resolve().parent)
'''

BODY = """{{ start }}
# hfprobe

Read a model's weights and say what it is: which foundation model it was fine-tuned from (its tree and root)
and what it was trained on (ProbeX tree experts, Horwitz et al., CVPR 2025).

- **Inspect**: a Hub repo id or an uploaded `.safetensors` file: format, family, root with evidence, conflicts
  with the card, predicted categories and the card section hfprobe would write; signed in, one button opens it
  as a pull request in your name.
- **Search**: models ranked by how well what their weights say matches your text.
- **API**: `/inspect(source)`, `/inspect_file(file)`, `/predict(source, labels)`, `/search(query, tree, top_k)`,
  `/open_pr(source)` through `gradio_client`.

Experts: {{ experts }}. Deployed with hfprobe {{ version }} (`hfprobe space push`).
{{ end }}
"""


def package_files() -> dict[str, Path]:
    """{path in the Space: file} for this hfprobe's own source and data (no caches, no compiled files)."""
    import hfprobe

    root = Path(hfprobe.__file__).resolve().parent
    return {
        f"hfprobe/{p.relative_to(root).as_posix()}": p
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in _SOURCE_SUFFIXES and "__pycache__" not in p.parts
    }


def requirements(extras=EXTRAS) -> str:
    """requirements.txt for the Space: hfprobe's dependencies and `extras`, pinned to the installed versions."""
    from packaging.requirements import Requirement

    try:
        declared = metadata.requires("hfprobe") or []
    except metadata.PackageNotFoundError:
        raise UsageError(
            "hfprobe is not installed as a package here (no metadata); install it with `pip install -e .`"
        ) from None
    lines = ["# written by `hfprobe space push`: hfprobe's dependencies, pinned to the versions it was tested with"]
    seen = set()
    for text in declared:
        req = Requirement(text)
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in extras):
            continue
        if req.name == "hfprobe" or req.name.lower() in seen:
            continue
        seen.add(req.name.lower())
        extra = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        if req.name.lower() == "gradio":
            lines.append(f"gradio{extra}=={GRADIO_VERSION}")
            continue
        try:
            version = metadata.version(req.name).split("+")[0]  # drop a local label such as +cu128
        except metadata.PackageNotFoundError:
            version = None
        lines.append(f"{req.name}{extra}=={version}" if version else f"{req.name}{extra}{req.specifier}")
    return "\n".join(lines) + "\n"


def _expert_repo(spec: str) -> str:
    """An `--experts` repo as org/name[@revision], from any form that names a Hub repo (hf://…, its URL too)."""
    from .source.resolve import repo_spec

    try:
        repo_id, revision = repo_spec(spec)
    except SourceNotFoundError:
        raise UsageError(
            f"--experts {spec!r}: not a Hub repo id; publish experts with `hfprobe experts push`"
        ) from None
    return repo_id + (f"@{revision}" if revision else "")


def _expert_text_encoders(repos: list[str], token) -> set[str]:
    """Text-encoder ids the experts in `repos` were trained in (their expert.json files only are fetched)."""
    from huggingface_hub import snapshot_download

    from .source.hub import hub_errors
    from .source.transport import hub_read

    found = set()
    for spec in repos:
        repo_id, _, revision = spec.partition("@")
        with hub_errors(f"expert repo {spec}", token=token):
            snap = Path(
                hub_read(
                    spec,
                    partial(
                        snapshot_download,
                        repo_id,
                        revision=revision or None,
                        token=token,
                        allow_patterns=["expert.json", "*/expert.json"],
                    ),
                )
            )
        configs = list(snap.rglob("expert.json"))
        if not configs:
            raise UsageError(f"{spec}: holds no hfprobe expert (expert.json); publish one with `hfprobe experts push`")
        for path in configs:
            te = json.loads(path.read_text(encoding="utf-8")).get("text_encoder") or {}
            if te.get("id"):
                found.add(te["id"])
    return found


def preload_entries(experts: list[str], token=None) -> list[str]:
    """`preload_from_hub` lines: each expert repo, and the Hub weights of the text encoders they were trained in
    (MiniLM, the default, ships in a pip package and needs none)."""
    from .text.encoders import registry

    entries = [spec.replace("@", " ", 1) if "@" in spec else spec for spec in experts]
    encoders = registry()["encoders"]
    for enc_id in sorted(_expert_text_encoders(experts, token)):
        cfg = encoders.get(enc_id) or {}
        if cfg.get("hub_repo"):
            entries.append(f"{cfg['hub_repo']} {cfg['hub_file']}" if cfg.get("hub_file") else cfg["hub_repo"])
    return entries


def space_card(repo_id: str, *, experts: list[str], preload: list[str], old: str | None = None) -> str:
    """The Space's README.md: our YAML over the old one's, our section replaced, everything else kept."""
    from huggingface_hub import SpaceCard, SpaceCardData

    from . import __version__

    old_data, before, after = {}, "", ""
    if old:
        card = SpaceCard(old, ignore_metadata_errors=True)
        old_data = card.data.to_dict()
        text = card.text
        if SECTION_START in text and SECTION_END in text:
            before, _, rest = text.partition(SECTION_START)
            after = rest.partition(SECTION_END)[2]
        else:
            after = "\n" + text.strip() + "\n" if text.strip() else ""
    ours = {
        "title": old_data.get("title") or "hfprobe",
        "emoji": old_data.get("emoji") or "🔎",
        "colorFrom": old_data.get("colorFrom") or "indigo",
        "colorTo": old_data.get("colorTo") or "green",
        "sdk": "gradio",
        "sdk_version": GRADIO_VERSION,
        "python_version": PYTHON_VERSION,
        "app_file": "app.py",
        "license": old_data.get("license") or "apache-2.0",
        "short_description": old_data.get("short_description") or "What do a model's weights say it is?",
        "hf_oauth": True,
        "hf_oauth_scopes": OAUTH_SCOPES,
        "models": list(dict.fromkeys([TEXT_ENCODER_ROOT, *(e.partition("@")[0] for e in experts)])),
        "tags": list(dict.fromkeys([*(old_data.get("tags") or []), "hfprobe", "model-tree", "weight-space-learning"])),
    }
    if preload:
        ours["preload_from_hub"] = preload
    data = SpaceCardData(**{**old_data, **ours})
    if not preload:
        data.pop("preload_from_hub", None)
    template = "---\n{{ card_data }}\n---\n{{ before }}" + BODY + "{{ after }}"
    card = SpaceCard.from_template(
        data,
        template_str=template,
        before=before,
        after=after,
        start=SECTION_START,
        end=SECTION_END,
        experts=", ".join(f"`{e}`" for e in experts) if experts else "none (the page still shows trees and roots)",
        version=__version__,
    )
    return str(card)


def space_files(
    repo_id: str,
    *,
    experts: list[str] | None = None,
    index=None,
    keep_index: bool = False,
    token=None,
    old_card: str | None = None,
) -> dict[str, bytes | Path]:
    """Everything one push writes: {path in the Space: bytes or a local file}. `keep_index`: the Space already
    holds an index/ that this push leaves in place."""
    experts = [_expert_repo(spec) for spec in experts or []]
    files: dict[str, bytes | Path] = dict(package_files())
    settings = {}
    if experts:
        settings["HFPROBE_EXPERTS"] = ",".join(experts)
    if index is not None:
        index = Path(index)
        if not (index / "hfprobe_index.json").is_file():
            raise UsageError(f"--index {index}: not a search index folder; build one with `hfprobe index add`")
        _with_flat_copy(index)
        for p in sorted(index.rglob("*")):
            if p.is_file() and not p.name.startswith("."):  # not the write lock, nor a copy half-written
                files[f"index/{p.relative_to(index).as_posix()}"] = p
    if index is not None or keep_index:
        settings["HFPROBE_INDEX"] = "index"
    preload = preload_entries(experts, token) if experts else []
    files["app.py"] = LAUNCHER.encode()
    files["requirements.txt"] = requirements().encode()
    files[SETTINGS_FILE] = (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode()
    files["README.md"] = space_card(repo_id, experts=experts, preload=preload, old=old_card).encode("utf-8")
    return files


def push_space(
    repo_id: str,
    *,
    experts: list[str] | None = None,
    index: str | os.PathLike | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Create (or update) the Gradio Space `repo_id` with one commit; returns the commit URL."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download

    from . import __version__
    from .source.hub import check_repo_id, hub_errors
    from .source.transport import hub_read

    check_repo_id(repo_id)
    api = HfApi(token=token)

    def read(name: str) -> str:
        path = hub_read(f"{repo_id}/{name}", lambda: hf_hub_download(repo_id, name, repo_type="space", token=token))
        return Path(path).read_text(encoding="utf-8", errors="replace")

    with hub_errors(f"Space {repo_id}", token=token, write=True):
        hub_read(
            repo_id,
            lambda: api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True),
        )
        existing = set(hub_read(repo_id, lambda: api.list_repo_files(repo_id, repo_type="space")))
        old = read("README.md") if "README.md" in existing else None
        before = json.loads(read(SETTINGS_FILE)) if SETTINGS_FILE in existing else {}
    if experts is None:  # not given: the experts of the previous push stay
        experts = [e for e in str(before.get("HFPROBE_EXPERTS") or "").split(",") if e]
    keep_index = index is None and any(p.startswith("index/") for p in existing)
    files = space_files(repo_id, experts=experts, index=index, keep_index=keep_index, token=token, old_card=old)
    ops = [CommitOperationAdd(path, data if isinstance(data, bytes) else str(data)) for path, data in files.items()]
    owned = ("hfprobe/",) if keep_index else ("hfprobe/", "index/")
    stale = sorted(p for p in existing if p.startswith(owned) and p not in files)
    ops += [CommitOperationDelete(p) for p in stale]
    with hub_errors(f"Space {repo_id}", token=token, write=True), warnings.catch_warnings():
        # the index's flat copy is an .arrow file, which huggingface_hub asks about ("about to commit a data file")
        warnings.filterwarnings(
            "ignore", message="It seems that you are about to commit a data file", category=UserWarning
        )
        info = api.create_commit(
            repo_id, ops, repo_type="space", commit_message=commit_message or f"hfprobe {__version__} Space"
        )
    return str(getattr(info, "commit_url", info))


def _with_flat_copy(index: Path) -> None:
    """Write the index's flat copy if it has none that reads (hfprobe/search/flat.py), so the Space's queries scan it
    without importing lancedb from their first; an index it cannot be written for is pushed as it is."""
    from .search.flat import FlatIndex
    from .search.index import INDEX_FORMAT, ModelIndex

    try:
        if FlatIndex.load(index, INDEX_FORMAT) is None:
            ModelIndex(index, create=False).refresh_flat()
    except HfprobeError:
        pass
