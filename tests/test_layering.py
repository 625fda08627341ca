"""Layers point one way (docs/style.md): the engine knows nothing of Jupyter, tornado or
asyncio, service/ nothing of tornado or jupyter_server, and the engine's modules import each
other without a circle. Read from the source with ``ast``: every import counts, including
those inside functions and under ``if TYPE_CHECKING:``; nothing is imported to check."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_ctr"


class Import(NamedTuple):
    importer: str  # dotted module name of the file
    target: str  # dotted module name imported (a submodule when ``from pkg import sub``)
    line: int
    late: bool  # inside a function
    type_only: bool  # under ``if TYPE_CHECKING:``


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path) -> Iterator[Import]:
    """Every import statement in ``path``, resolved to absolute module names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))

    def visit(node: ast.AST, late: bool, type_only: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno, late, type_only)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                is_module = (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists() \
                    or (PACKAGE.parent / sub.replace(".", "/") / "__init__.py").exists()
                yield Import(name, sub if is_module else source, node.lineno, late, type_only)
        for field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for child in children:
                if not isinstance(child, ast.AST):
                    continue
                inner_late = late or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                       ast.Lambda))
                inner_type = type_only or (isinstance(node, ast.If) and field == "body"
                                           and _is_type_checking(node.test))
                yield from visit(child, inner_late, inner_type)

    yield from visit(tree, False, False)


def layer_imports(layer: str) -> list[Import]:
    return [imp for path in sorted((PACKAGE / layer).rglob("*.py"))
            for imp in imports_of(path)]


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_parser_sees_late_and_type_checking_imports() -> None:
    found = {(imp.target, imp.late, imp.type_only)
             for imp in imports_of(PACKAGE / "engine" / "__init__.py")}
    assert ("jupyter_ctr.engine.container", False, True) in found
    assert ("importlib", True, False) in found


def test_the_engine_imports_nothing_of_jupyter_tornado_or_asyncio() -> None:
    def forbidden(target: str) -> bool:
        top = _top(target)
        if top == "jupyter_ctr":  # the layers above it: server, service, cli, ...
            return not (target == top or target.startswith("jupyter_ctr.engine"))
        return top.startswith("jupyter") or top in {"tornado", "asyncio", "ipywidgets"}

    bad = [imp for imp in layer_imports("engine") if forbidden(imp.target)]
    assert bad == []


def test_service_imports_nothing_of_tornado_or_jupyter_server() -> None:
    def forbidden(target: str) -> bool:
        return _top(target) in {"tornado", "jupyter_server", "ipywidgets"} or \
            target.startswith(("jupyter_ctr.server", "jupyter_ctr.cli"))

    bad = [imp for imp in layer_imports("service") if forbidden(imp.target)]
    assert bad == []


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle in ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := walk(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := walk(start)) is not None:
            return found
    return None


def test_find_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_circle_in_the_engine() -> None:
    """Every import between engine modules counts, late ones included; imports under
    ``if TYPE_CHECKING:`` do not (they never run)."""
    graph: dict[str, set[str]] = {}
    for imp in layer_imports("engine"):
        graph.setdefault(imp.importer, set())
        if imp.target.startswith("jupyter_ctr.engine.") and not imp.type_only and \
                imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
    assert find_cycle(graph) is None


#: Engine modules that act on containers and images: front ends reach them through service/.
ENGINE_VERB_MODULES = {
    "jupyter_ctr.engine.runtime", "jupyter_ctr.engine.container",
    "jupyter_ctr.engine.container_internal", "jupyter_ctr.engine.container_exec",
    "jupyter_ctr.engine.container_checkpoint", "jupyter_ctr.engine.exec",
    "jupyter_ctr.engine.attach", "jupyter_ctr.engine.images.store",
    "jupyter_ctr.engine.checkpoint.archive", "jupyter_ctr.engine.oci",
}


def test_handlers_reach_the_engine_only_through_the_service() -> None:
    """REST and websocket handlers parse, call ContainerService and render: they import no
    engine module that acts (types for annotations aside) and never touch the Runtime."""
    bad = [imp for imp in layer_imports("server/handlers")
           if imp.target in ENGINE_VERB_MODULES and not imp.type_only]
    assert bad == []
    touching = [f"{path.name}:{n}" for path in sorted((PACKAGE / "server/handlers").glob("*.py"))
                for n, line in enumerate(path.read_text().splitlines(), 1)
                if ".runtime." in line or "self.rt." in line]
    assert touching == []


#: Runtime methods that find or change containers and images: only service/door.py calls them.
RUNTIME_LOOKUPS = ("lookup_container(", "list_containers(", "create_container(",
                   "remove_container(", "get_image(", "list_images(", "remove_image(",
                   "import_image(", "lookup_exec(", "import_checkpoint(", "restore_container(")


def test_front_ends_find_containers_only_through_the_door() -> None:
    """The CLI and the server's handlers get containers, exec sessions and images from
    service/door.py (through ContainerService for the server), where the policy is asked:
    none of them calls the Runtime's lookups itself."""
    front_ends = [*sorted((PACKAGE / "cli").rglob("*.py")),
                  *sorted((PACKAGE / "server").rglob("*.py"))]
    calls = [f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
             for path in front_ends
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if any(f"rt.{m}" in line or f"runtime.{m}" in line for m in RUNTIME_LOOKUPS)]
    assert calls == []
