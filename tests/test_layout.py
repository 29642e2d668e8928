"""The layout is the architecture: imports go one way, down the pipeline, and no module imports itself back.

Every `import` in the package is read from the source (module level and inside functions alike), so a lazy
import cannot hide an upward dependency or a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "hfprobe"

# stage of each top-level part of the package; a module may import its own stage or earlier ones
STAGES = {
    "errors": 0,
    "config": 0,
    "device": 0,
    "source": 1,
    "formats": 2,
    "tree": 3,
    "text": 4,
    "zoo": 5,
    "experts": 6,
    "cards": 7,
    "search": 7,
    "bench": 8,
    "demo": 9,
    "space": 9,
    "deploy": 9,
    "cli": 10,
    "__main__": 11,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the hfprobe modules `path` imports (a `from pkg import name` counts as pkg.name if that is
    a module, else pkg)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod != "hfprobe" and not mod.startswith("hfprobe."):
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                out.add(sub if _exists(sub) else mod)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("hfprobe.")}
    return out - {name}


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PKG / rel).with_suffix(".py").is_file() or (PKG / rel / "__init__.py").is_file()


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.get(parts[1]) if len(parts) > 1 else -1  # `hfprobe` itself (its __version__) is below all


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PKG.rglob("*.py")}


def test_every_module_has_a_stage():
    unknown = sorted(m for m in _graph() if m != "hfprobe" and _stage(m) is None)
    assert not unknown, f"modules outside the known stages (add them to STAGES): {unknown}"


def test_imports_go_down_the_pipeline():
    upward = []
    for mod, targets in _graph().items():
        for t in targets:
            if mod != "hfprobe" and _stage(t) > _stage(mod):
                upward.append(f"{mod} -> {t}")
            same = _stage(t) == _stage(mod) and t.split(".")[:2] != mod.split(".")[:2] and _stage(mod) > 0
            if same:  # siblings of one stage (cards, search) stay apart
                upward.append(f"{mod} -> {t} (sibling stage)")
    assert not upward, "imports that go up the pipeline:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif not state.get(nxt):
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])
    # a package's __init__ re-exporting its own modules is not a cycle of the design
    real = [
        c for c in cycles if not all(p.split(".")[:2] == c.split(" -> ")[0].split(".")[:2] for p in c.split(" -> "))
    ]
    assert not real, "import cycles:\n" + "\n".join(real)


def test_import_hfprobe_is_cheap():
    """`import hfprobe` and its public names stay lazy: no torch until a name that needs it is used."""
    code = "import sys, hfprobe; hfprobe.__version__; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
