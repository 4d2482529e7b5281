import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import seq2seq_gym
from seq2seq_gym import cli


def test_version_is_set():
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", seq2seq_gym.__version__)


def test_subpackages_import():
    import seq2seq_gym.agents
    import seq2seq_gym.data
    import seq2seq_gym.envs
    import seq2seq_gym.models
    import seq2seq_gym.rewards  # noqa: F401


def test_cli_help_exits_zero():
    proc = subprocess.run(
        [sys.executable, "-m", "seq2seq_gym.cli", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "seq2seq-gym" in proc.stdout


def test_cli_version(capsys):
    try:
        cli.main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    assert seq2seq_gym.__version__ in capsys.readouterr().out


def test_console_script_installed():
    import shutil

    exe = shutil.which("seq2seq-gym")
    if exe is None:  # running from a source tree without `pip install -e .`
        import pytest

        pytest.skip("seq2seq-gym console script is not on PATH (package not installed)")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0


# DESIGN.md: the rooms each room may import (besides itself); every room may import the leaf utils,
# which imports nothing of ours. Nothing but the CLI and examples imports agents.
ROOMS = {
    "utils": set(),
    "data": {"utils"},
    "rewards": {"utils"},
    "models": {"utils", "data"},
    "envs": {"utils", "data", "rewards", "models"},
    "agents": {"utils", "data", "rewards", "models", "envs"},
}
PACKAGE = Path(seq2seq_gym.__file__).parent

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import seq2seq_gym
base = sorted(m for m in sys.modules if m.startswith("seq2seq_gym."))
room = importlib.import_module("seq2seq_gym." + sys.argv[1])
skipped = []
for info in pkgutil.walk_packages(room.__path__, room.__name__ + "."):
    try:
        importlib.import_module(info.name)
    except ModuleNotFoundError as e:  # an optional third-party dependency that is not installed
        if (e.name or "").startswith("seq2seq_gym"):
            raise
        skipped.append(info.name)
loaded = sorted(m for m in sys.modules if m.startswith("seq2seq_gym.") and m not in base)
print(json.dumps({"base": base, "loaded": loaded, "skipped": skipped}))
"""


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_import_directions(room):
    """Every module of a room, imported in a fresh interpreter, loads only the rooms DESIGN.md allows.

    A fresh interpreter per room: in one shared interpreter a room imported
    earlier hides the imports of a later one (a ``models -> rewards`` import
    goes unseen once ``rewards`` is loaded).
    """
    if not (PACKAGE / room).is_dir():
        pytest.skip(f"seq2seq_gym.{room} does not exist yet")
    proc = subprocess.run([sys.executable, "-c", IMPORT_ALL, room], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    # `import seq2seq_gym` itself registers the environments and loads nothing else
    assert set(out["base"]) <= {"seq2seq_gym.envs", "seq2seq_gym.envs.registration"}
    rooms = {m.split(".")[1] for m in out["loaded"]}
    assert rooms <= {room} | ROOMS[room], f"seq2seq_gym.{room} imports {sorted(rooms - {room} - ROOMS[room])}"


def _imported_rooms(path: Path) -> set[str]:
    """Rooms named by the import statements of a file, anywhere in it (inside functions too)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
            else:
                names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if parts[0] == "seq2seq_gym" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_import_directions_in_the_source(room):
    """The same rule for every import statement, including lazy ones inside functions."""
    if not (PACKAGE / room).is_dir():
        pytest.skip(f"seq2seq_gym.{room} does not exist yet")
    for path in sorted((PACKAGE / room).rglob("*.py")):
        bad = _imported_rooms(path) - {room} - ROOMS[room]
        assert not bad, f"{path.relative_to(PACKAGE.parent)} imports seq2seq_gym.{sorted(bad)}"


def test_import_is_light():
    """`import seq2seq_gym` registers the environments without importing torch."""
    code = (
        "import sys, seq2seq_gym, gymnasium as gym; "
        "print('torch' in sys.modules, 'Seq2Seq/Summarization-v0' in gym.registry)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "True"]
