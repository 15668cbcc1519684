"""Layer rules: no import cycle between the app's modules, and the import-linter contracts.

The cycle check reads every module of app.py, cli.py, data/, web/, layouts/ and callbacks/ with ``ast`` and
follows EVERY import, including those inside functions (a function-local import is still a
dependency; it only hides the cycle until the function runs). Imports under ``if TYPE_CHECKING:``
are left out: they never run. ``from package import name`` depends on ``package.name`` when that
is a module, else on ``package`` (its ``__init__``).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.source import parse

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("data", "web", "layouts", "callbacks")

# Cycles that remain in files owned by another branch at the time of writing. Each entry is the
# sorted list of the cycle's modules.
ALLOWED_CYCLES: list[list[str]] = []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    files = [ROOT / "app.py", ROOT / "cli.py"] + [
        p for d in LAYERS for p in sorted((ROOT / d).rglob("*.py"))
    ]
    return {_module_name(p): p for p in files}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                out.update(id(n) for n in ast.walk(stmt))
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the app modules it imports (anywhere in its body, functions included)."""
    mods = _modules()

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        tree = parse(path)
        skip = _type_checking_nodes(tree)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names
                ]
            else:
                continue
            for target in targets:
                found = owner(target)
                if found and found != mod:
                    deps.add(found)
        graph[mod] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_function_local_imports():
    graph = import_graph()
    # app.py imports data.auth inside serve() and cli inside main(), never at module level
    assert "data.auth" in graph["app"]
    assert "cli" in graph["app"]
    assert "data.times" in graph["data.cases.service"]


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    graph = import_graph()
    found = [c for c in cycles(graph) if c not in ALLOWED_CYCLES]
    detail = [" -> ".join(f"{a}->{b}" for a in c for b in sorted(graph[a] & set(c))) for c in found]
    assert not found, "import cycles:\n" + "\n".join(detail)


def test_command_line_parsing_lives_in_cli_only():
    """One module parses the command line (cli.py): nothing in data/, web/, layouts/ or
    callbacks/ imports argparse or cli (import-linter's root packages must be packages, so the
    top-level cli.py is checked here)."""
    offenders = []
    for mod, path in _modules().items():
        if mod in ("app", "cli"):
            continue
        tree = parse(path)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            offenders += [
                f"{mod} imports {n}" for n in names if n.split(".")[0] in ("argparse", "cli")
            ]
    assert not offenders, offenders


def _lint_imports(config: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "lint-imports"
    cmd = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    return subprocess.run(
        [*cmd, "--config", str(config), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_linter_contracts_are_kept():
    """The layer contracts in .importlinter (data below the UI and HTTP layers, layouts without
    the store)."""
    done = _lint_imports(ROOT / ".importlinter")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_import_linter_reports_a_broken_contract(tmp_path):
    """The same tool, on a contract the code breaks (data imports pandas), fails: the check above
    is not vacuous."""
    config = tmp_path / "broken.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    data\ninclude_external_packages = True\n\n"
        "[importlinter:contract:x]\nname = x\ntype = forbidden\n"
        "source_modules =\n    data\nforbidden_modules =\n    pandas\n",
        encoding="utf-8",
    )
    done = _lint_imports(config)
    assert done.returncode != 0
    assert "data is not allowed to import pandas" in done.stdout


def _imported_modules(path: Path) -> set[str]:
    tree = parse(path)
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def test_tests_stand_alone():
    """Tests share helpers only through tests/support/ (never import another test module or a
    conftest), and bench/ never imports tests/."""
    bad = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for mod in _imported_modules(path):
            if mod.startswith("tests.") and not mod.startswith("tests.support"):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    for path in sorted((ROOT / "bench").rglob("*.py")):
        for mod in _imported_modules(path):
            if mod == "tests" or mod.startswith("tests."):
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "\n".join(bad)


def _python_files(*, tests: bool) -> list[Path]:
    skip = {".venv", ".git", "node_modules"}
    files = [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]
    return [p for p in files if tests or p.relative_to(ROOT).parts[0] != "tests"]


def test_no_module_outside_tests_is_over_800_lines() -> None:
    """Big modules are split along their seams (issue 9)."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in _python_files(tests=False)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800
    }
    assert long == {}


def test_no_formatter_skip_markers() -> None:
    """Code is written so the formatter keeps it readable, not fenced off from it."""
    marker = "fmt: " + "skip"  # split, so this file does not match itself
    marked = [
        str(p.relative_to(ROOT))
        for p in _python_files(tests=True)
        if marker in p.read_text(encoding="utf-8")
    ]
    assert marked == []


def test_one_copy_of_the_shared_drivers():
    """The server/Chromium/port drivers are defined once, in harness/: tests/ and bench/ import
    them instead of keeping their own copies (bench/ may not import tests/)."""
    shared = {
        node.name
        for path in sorted((ROOT / "harness").rglob("*.py"))
        for node in ast.walk(parse(path))
        if isinstance(node, ast.FunctionDef)
    }
    assert {"serve", "chromium", "wait_map", "free_port"} <= shared
    copies = []
    for folder in ("tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(parse(path)):
                if isinstance(node, ast.FunctionDef) and node.name in shared:
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno} defines {node.name}")
    assert not copies, "\n".join(copies)


# --- thin callbacks: one function of data/ per callback -----------------------------------------

# The callback modules whose callbacks are held to "call one function of data/ (or the access
# policy), no rules" (issue 9): every one of them.
THIN_CALLBACK_MODULES = tuple(
    sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "callbacks").glob("*.py")
        # wiring: the guard, not callbacks; shell: the frame's clientside theme switch only (no
        # server callback, nothing reaches data/)
        if p.name not in ("__init__.py", "wiring.py", "shell.py")
    )
)
# Calls into these are not counted: the access policy, time helpers and settings are what a
# callback may ask besides its one function of data/.
NOT_COUNTED = ("data.policy", "data.times", "data.settings")
# (module, callback) -> the data calls it may make beyond one, each with its reason. Empty: no
# callback needs more than one.
ALLOWED_EXTRA_DATA_CALLS: dict[tuple[str, str], dict[str, str]] = {}
# the name callbacks.wiring gives the running runtime (imported as ``runtime`` or an alias)
_RUNTIME_ACCESSOR = ("callbacks.wiring", "runtime")


def _dotted(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; a chain starting with a call ``f().b`` as ["f()", "b"]."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return [node.func.id + "()", *reversed(parts)]
    return None


def data_calls_per_callback(tree: ast.Module) -> dict[str, set[str]]:
    """For each callback of a module (a function decorated with ``@callback(...)``), the distinct
    calls it makes into data/, following the module's own helper functions.

    A call counts when its name resolves to a ``data.*`` import (``audit.trail_view``,
    ``desk.act``, an imported function) outside :data:`NOT_COUNTED`, or when it is a method of
    the running runtime (``rt.cases.board(...)``, ``_rt().evaluate_warnings()``; ``rt`` is what
    ``callbacks.wiring.runtime()`` returned, or a helper's parameter of that name).
    """
    imported: dict[str, str] = {}
    runtime_accessors: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                local = alias.asname or alias.name
                imported[local] = f"{node.module}.{alias.name}"
                if (node.module, alias.name) == _RUNTIME_ACCESSOR:
                    runtime_accessors.add(local)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name.split(".")[0]] = alias.name
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}

    def is_callback(fn: ast.FunctionDef) -> bool:
        return any(
            isinstance(d, ast.Call) and (_dotted(d.func) or [""])[-1] == "callback"
            for d in fn.decorator_list
        )

    def calls_of(fn: ast.FunctionDef, seen: set[str]) -> set[str]:
        found: set[str] = set()
        # names holding the runtime or a part of it: ``rt = _rt()``, ``svc = rt.cases``
        runtime_names = {"rt"}
        for n in ast.walk(fn):
            if not (isinstance(n, ast.Assign) and len(n.targets) == 1):
                continue
            target, value = n.targets[0], n.value
            chain = _dotted(value.func if isinstance(value, ast.Call) else value) or [""]
            from_accessor = isinstance(value, ast.Call) and chain == [chain[0]]
            if isinstance(target, ast.Name) and (
                (from_accessor and chain[0] in runtime_accessors)
                or (chain[0] in runtime_names and len(chain) > 1)
            ):
                runtime_names.add(target.id)
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call):
                continue
            chain = _dotted(node.func)
            if not chain:
                continue
            head, rest = chain[0], chain[1:]
            on_runtime = head in runtime_names or head.removesuffix("()") in runtime_accessors
            if on_runtime and rest:
                found.add("runtime." + ".".join(rest))
            elif head in imported and imported[head].startswith("data."):
                target = ".".join([imported[head], *rest])
                if not target.startswith(NOT_COUNTED):
                    found.add(target)
            elif head in functions and not rest and head not in seen:
                found |= calls_of(functions[head], seen | {head})
        return found

    return {n: calls_of(fn, {n}) for n, fn in functions.items() if is_callback(fn)}


def test_the_counter_sees_data_calls_through_helpers_and_the_runtime():
    """The rule below can fail: two data calls, one of them in a helper and one through the
    runtime, are both seen; the policy and the clock are not counted."""
    source = (
        "from callbacks.wiring import runtime as _rt\n"
        "from data import audit, policy\n"
        "from data.times import utc_now\n"
        "def helper(rt):\n"
        "    return rt.cases.board('x', None)\n"
        "@callback(Output('a', 'children'))\n"
        "def show(x):\n"
        "    policy.require(None, 'audit_view')\n"
        "    rt = _rt()\n"
        "    svc = rt.cases\n"
        "    svc.get(1)\n"
        "    return audit.query(rt.db, since=utc_now()), helper(rt)\n"
    )
    assert data_calls_per_callback(ast.parse(source)) == {
        "show": {"data.audit.query", "runtime.cases.board", "runtime.get"}
    }


def test_callbacks_call_one_function_of_data():
    """Each callback reads its inputs, calls ONE function of data/ (or the access policy) and
    hands the result to layouts/: no SQL, no rules, no gathering of several reads (issue 9)."""
    assert THIN_CALLBACK_MODULES, "no module to check"
    too_many = []
    for rel in THIN_CALLBACK_MODULES:
        per_callback = data_calls_per_callback(parse(ROOT / rel))
        assert per_callback, f"{rel}: no callback found (has the decorator changed?)"
        for name, calls in per_callback.items():
            allowed = ALLOWED_EXTRA_DATA_CALLS.get((rel, name), {})
            counted = calls - set(allowed)
            if len(counted) > 1:
                too_many.append(f"{rel}:{name} calls {sorted(counted)}")
    assert not too_many, "\n".join(too_many)
