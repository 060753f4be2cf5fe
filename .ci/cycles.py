#!/usr/bin/env python3
"""Fails when two source files import each other through any path
(DESIGN.md "Layers": no cycles, inside a floor either).

Each file under src/ is a module (`src/services/login.rs` is
`services::login`, a folder's `mod.rs` the folder). An import is any
`crate::…`, `super::…` or `self::…` path in a file, in `use` lines or
inline; it points at the longest module prefix that is a file. A name a
folder's `mod.rs` re-exports (`pub use child::Name;`) points at the child,
since `mod.rs` only wires its files. Prints every cycle's files and exits 1
when there is one.
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return re.sub(r"//[^\n]*", "", text)


def use_paths(text):
    """Every path a file names: `use` trees expanded, and inline paths.
    A file's inline test module (`#[cfg(test)] mod tests`, at its end) is
    left out: its `super` is the file itself."""
    text = re.split(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)[0]
    paths = []
    # `use super::*;` is how an inline `mod tests` reaches its own file.
    text = re.sub(r"\buse\s+super::\*\s*;", "", text)
    for tree in re.findall(r"\buse\s+([^;]+);", text):
        paths.extend(expand(tree.replace("\n", " ").strip()))
    for path in re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", text):
        paths.append(path)
    return paths


def expand(tree):
    tree = tree.strip()
    match = re.match(r"^(.*?)::\{(.*)\}$", tree, flags=re.S)
    if not match:
        return [re.sub(r"\s+as\s+\w+$", "", tree)]
    prefix, inner = match.groups()
    parts, depth, current = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    parts.append(current)
    out = []
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if part == "self":
            out.append(prefix)
        else:
            out.extend(expand(f"{prefix}::{part}"))
    return out


def main():
    files = {}
    for dirpath, _, names in os.walk(ROOT):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(dirpath, name)
                files[module_of(path)] = path
    texts = {m: strip_comments(open(p, encoding="utf-8").read()) for m, p in files.items()}
    reexports = {}
    for module, text in texts.items():
        for tree in re.findall(r"\bpub use\s+([^;]+);", text):
            for path in expand(tree):
                segs = path.split("::")
                if segs[0] in ("crate", "super"):
                    continue
                if segs[0] == "self":
                    segs = segs[1:]
                if len(segs) >= 2 and module + (segs[0],) in files:
                    reexports[module + (segs[-1],)] = module + tuple(segs[:-1])

    def resolve(module, path):
        segs = path.split("::")
        if segs[0] == "crate":
            base, segs = (), segs[1:]
        else:
            base = module
            while segs and segs[0] in ("super", "self"):
                if segs[0] == "super":
                    base = base[:-1]
                segs = segs[1:]
        full = base + tuple(segs)
        for n in range(len(full), 0, -1):
            if full[:n] in files:
                target = full[:n]
                if n < len(full) and target + (full[n],) in reexports:
                    target = reexports[target + (full[n],)]
                return target
        return None

    graph = {m: set() for m in files}
    for module, text in texts.items():
        # A folder's `pub use child::…` wires its files: not an import.
        # Anything else it uses of its children is (code in a mod.rs).
        text = re.sub(r"\bpub use\s+[^;]+;", "", text)
        paths = use_paths(text)
        # `mod child;` then `child::item`: a use of the child's code.
        for child in re.findall(r"\bmod\s+(\w+)\s*;", text):
            if re.search(rf"(?<![:\w]){child}::\w", text):
                paths.append(f"self::{child}")
        for path in paths:
            target = resolve(module, path)
            if target is None or target == module:
                continue
            graph[module].add(target)

    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
                sccs.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    # Rooms: inside each folder, its sub-folders (and files) import one way
    # too, so a folder's children form no cycle either.
    folders = {m for m in files if files[m].endswith("mod.rs")}
    room_cycles = []
    for folder in sorted(folders):
        depth = len(folder)

        def room(m):
            return m[: depth + 1] if m[:depth] == folder and len(m) > depth else None

        rooms = {}
        for v, targets in graph.items():
            a = room(v)
            if a is None:
                continue
            for w in targets:
                b = room(w)
                if b is not None and b != a and b != folder:
                    rooms.setdefault(a, set()).add(b)
        seen_cycle = find_cycle(rooms)
        if seen_cycle:
            room_cycles.append((folder, seen_cycle))
    for folder, cycle in room_cycles:
        names = " -> ".join("::".join(m) for m in cycle)
        print(f"rooms of {'::'.join(folder) or 'src'} import each other: {names}")
    if not sccs and not room_cycles:
        print(f"cycles: none among {len(files)} files, nor among the rooms of {len(folders)} folders")
        return 0
    for comp in sccs:
        names = sorted("::".join(m) or "lib" for m in comp)
        print(f"import cycle among {len(comp)} files: {', '.join(names)}")
        for m in sorted(comp):
            inside = sorted("::".join(t) for t in graph[m] if t in comp)
            print(f"  {'::'.join(m)} -> {', '.join(inside)}")
    return 1


def find_cycle(edges):
    """One cycle of `edges` (a dict of sets), as a list of nodes, or None."""
    state, path = {}, []

    def dfs(v):
        state[v] = 1
        path.append(v)
        for w in sorted(edges.get(v, ())):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state:
                found = dfs(w)
                if found:
                    return found
        state[v] = 2
        path.pop()
        return None

    for v in sorted(edges):
        if v not in state:
            found = dfs(v)
            if found:
                return found
    return None


if __name__ == "__main__":
    sys.exit(main())
