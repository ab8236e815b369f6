"""The layout's contract, held by walking every module's imports (its AST, nested imports
included), not by a hand-kept list: only jazzd/learn may import TensorFlow, Keras, tf2onnx or
onnx (the Pi installs none of them), and reading a config loads no onnxruntime."""

import ast
from pathlib import Path

import jazzd

PACKAGE = Path(jazzd.__file__).parent
LEARNING_ONLY = {"tensorflow", "keras", "tf2onnx", "onnx"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Absolute names of the modules `path` imports (all of them, or only at module level)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_only_the_learning_side_imports_tensorflow_or_onnx():
    assert len(MODULES) > 20
    offenders = {
        name: sorted(n for n in imports(path) if n.split(".")[0] in LEARNING_ONLY)
        for name, path in MODULES.items()
        if not name.startswith("jazzd.learn")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_reading_a_config_loads_no_onnxruntime():
    """What importing jazzd.live.config loads, module level only, followed through jazzd."""
    seen, todo, loaded = set(), ["jazzd.live.config"], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in MODULES:
            continue
        seen.add(name)
        for imported in imports(MODULES[name], top_level_only=True):
            loaded.add(imported.split(".")[0])
            todo += [m for m in MODULES if imported == m or imported.startswith(m + ".")]
            todo += [".".join(imported.split(".")[:i]) for i in range(1, imported.count(".") + 1)]
    assert "jazzd.music.chords" in seen and "onnxruntime" not in loaded, sorted(seen)


# The layers, lowest first: a module may import its own layer and those below, never above, and
# the two sides (learn, live) not each other. Each side's `commands` module is the command
# line's (its parsers beside their handlers), so it sits with `cli` and `options` on top.
LAYERS = {
    "jazzd.errors": 0,
    "jazzd.music": 0,
    "jazzd.solo": 1,
    "jazzd.learn": 2,
    "jazzd.live": 2,
    "jazzd.measure": 3,
}


def layer(name: str) -> tuple[int, str]:
    if name.endswith(".commands"):
        return 4, "cli"
    return next(((n, p) for p, n in LAYERS.items() if name == p or name.startswith(p + ".")), (4, "cli"))


def jazzd_imports(path: Path) -> set[str]:
    return {m for m in imports(path) if m in MODULES}


def test_the_layers_music_solo_sides_measure_cli_and_no_circles():
    upward = []
    for name, path in MODULES.items():
        rank, side = layer(name)
        for imported in jazzd_imports(path):
            their_rank, their_side = layer(imported)
            if their_rank > rank or (their_rank == rank == 2 and their_side != side):
                upward.append(f"{name} -> {imported}")
    assert upward == []
    graph = {name: jazzd_imports(path) - {name} for name, path in MODULES.items()}
    circles = []
    for start in graph:  # depth-first from each module, back to it
        stack = [(start, (start,))]
        while stack:
            node, path = stack.pop()
            for after in graph[node]:
                if after == start:
                    circles.append(" -> ".join((*path, start)))
                elif after not in path:
                    stack.append((after, (*path, after)))
    assert circles == []
