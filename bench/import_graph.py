"""Print the import graph between ivr's top-level parts, its loops and its largest modules.

Why: issue 14 asks that arrows point down (telephony/flow -> routing/speech/understanding/config,
never back) and that no folder or module imports itself in a circle. This reads the source with
`ast` (nothing is imported or run), so it works on any checkout:

    python bench/import_graph.py [--root ivr] [--max-lines 400]

Every import that runs counts, deferred ones inside functions included: a loop hidden by a local
import is still a loop a reader has to untangle. Imports under ``if TYPE_CHECKING:`` never run;
they are left out of the arrows and loops and only counted.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

# Parts whose floor the design fixes (arrows out of these must point down).
LOW_PARTS = ("routing", "speech", "config", "understanding")
HIGH_PARTS = ("telephony", "flow")


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, pkg: str) -> list[tuple[str, bool]]:
    """Absolute names a module imports, each with whether it sits under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    found: list[tuple[str, bool]] = []
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in ast.walk(node):
                type_only.add(id(inner))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, id(node) in type_only))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((mod, id(node) in type_only))
            for alias in node.names:  # `from ivr.x import y` where y is a module
                found.append((f"{mod}.{alias.name}", id(node) in type_only))
    return [(m, t) for m, t in found if m == pkg or m.startswith(pkg + ".")]


def part_of(mod: str) -> str:
    bits = mod.split(".")
    return bits[1] if len(bits) > 1 else "(root)"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="ivr")
    ap.add_argument("--max-lines", type=int, default=400)
    args = ap.parse_args()
    root = Path(args.root).resolve()
    pkg = root.name
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    names = {module_name(root, p): p for p in files}

    mod_graph: dict[str, set[str]] = defaultdict(set)
    part_edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    type_only = 0
    typed_graph: dict[str, set[str]] = defaultdict(set)  # with the type-only imports too
    for name, path in names.items():
        for target, is_type_only in imports_of(path, name, pkg):
            while target not in names and "." in target:
                target = target.rsplit(".", 1)[0]
            if target not in names or target == name:
                continue
            typed_graph[name].add(target)
            if is_type_only:
                type_only += 1
                continue
            # resolve `from ivr.x import y` to the module if y is one, else to ivr.x
            while target not in names and "." in target:
                target = target.rsplit(".", 1)[0]
            if target not in names or target == name:
                continue
            mod_graph[name].add(target)
            a, b = part_of(name), part_of(target)
            if a != b and target != pkg:
                part_edges[(a, b)].add(f"{name.split('.', 1)[-1]} -> {target.split('.', 1)[-1]}")

    print("== arrows between top-level parts (count of module imports)")
    for (a, b), via in sorted(part_edges.items()):
        print(f"  {a:>16} -> {b:<16} {len(via)}")
    print("\n== upward arrows (routing/speech/config/understanding -> telephony/flow)")
    ups = [(a, b) for (a, b) in part_edges if a in LOW_PARTS and b in HIGH_PARTS]
    for a, b in sorted(ups):
        for v in sorted(part_edges[(a, b)]):
            print(f"  {v}")
    if not ups:
        print("  none")

    part_graph: dict[str, set[str]] = defaultdict(set)
    for a, b in part_edges:
        part_graph[a].add(b)
    print("\n== folder-level loops (parts that reach each other)")
    for comp in cycles(part_graph) or [["none"]]:
        print("  " + " <-> ".join(comp))

    print("\n== module-level loops")
    loops = cycles(mod_graph)
    for comp in loops:
        print("  " + " <-> ".join(c.split(".", 1)[-1] for c in comp))
    if not loops:
        print("  none")
    print("\n== module-level loops counting type-only imports (they never run; a reader still sees"
          " them)")
    typed_loops = cycles(typed_graph)
    for comp in typed_loops:
        print("  " + " <-> ".join(c.split(".", 1)[-1] for c in comp))
    if not typed_loops:
        print("  none")

    print(f"\n== modules over {args.max_lines} lines")
    big = []
    for path in names.values():
        n = sum(1 for _ in path.open(encoding="utf-8"))
        if n > args.max_lines:
            big.append((n, str(path.relative_to(root.parent))))
    for n, p in sorted(big, reverse=True):
        print(f"  {n:5d} {p}")
    if not big:
        print("  none")
    print(f"\n{len(names)} modules, {len(part_edges)} part arrows, {len(loops)} module loops, "
          f"{len(big)} modules over {args.max_lines} lines; {type_only} type-only imports left out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
