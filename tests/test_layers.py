"""The house's floors: no module imports from a floor above its own.

From the ground up: the streaming core and what it stands on; the settings
(every setting, and the options each component takes); the glue that builds
and drives the engine; the transports; the benchmark harnesses; the commands.
Every ``import`` counts, also one inside a function: a lazy import is still an
arrow a reader has to follow.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT

PACKAGE = ROOT / "agent" / "roomscribe"

FLOORS: tuple[tuple[str, ...], ...] = (
    (
        "roomscribe",  # __init__: the version
        "roomscribe.asr",
        "roomscribe.audio",
        "roomscribe.formats",
        "roomscribe.languages",
        "roomscribe.memory",
        "roomscribe.metrics",
        "roomscribe.protocol",
        "roomscribe.store",
        "roomscribe.timing",
        "roomscribe.vocabulary",
    ),
    ("roomscribe.settings",),
    ("roomscribe.aio", "roomscribe.replay", "roomscribe.runtime"),
    ("roomscribe.livekit", "roomscribe.server"),
    ("roomscribe.bench",),
    ("roomscribe.commands", "roomscribe.cli"),
)


def floor(module: str) -> int:
    """The floor of ``module``: its longest listed prefix decides."""
    best, length = -1, -1
    for level, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = level, len(prefix)
    if best < 0:
        raise AssertionError(f"{module} is on no floor: add it to FLOORS")
    return best


def imports() -> list[tuple[str, str]]:
    """(importer, imported) for every ``roomscribe`` import in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [(module, name) for name in names if name.split(".")[0] == "roomscribe"]
    return found


def test_every_module_is_on_a_floor_and_imports_only_from_its_own_or_below() -> None:
    edges = imports()
    assert len(edges) > 100  # the walk found the package
    upward = {(a, b) for a, b in edges if floor(b) > floor(a)}
    assert upward == set()


def test_the_agent_starts_without_the_web_stack() -> None:
    """``roomscribe agent`` reads its settings and flags without FastAPI or aiortc."""
    heavy = ("fastapi", "starlette", "aiortc", "uvicorn", "roomscribe.server")
    code = (
        "import sys\n"
        "from roomscribe import cli\n"
        "cli.build_parser().parse_args(['agent'])\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
