import re
import subprocess
import sys

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


def test_import_directions():
    """data and rewards import nothing of ours; models only data; envs not agents (DESIGN.md)."""
    code = (
        "import sys, json, seq2seq_gym; base = set(sys.modules); out = {}\n"
        "for room in ['data', 'rewards', 'models', 'envs.text_gen']:\n"
        "    before = set(sys.modules)\n"
        "    __import__('seq2seq_gym.' + room)\n"
        "    out[room] = sorted({m.split('.')[1] for m in set(sys.modules) - before if m.startswith('seq2seq_gym.')})\n"
        "print(json.dumps(out))"
    )
    import json

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(proc.stdout)
    assert set(loaded["data"]) <= {"data"}
    assert set(loaded["rewards"]) <= {"rewards"}
    assert set(loaded["models"]) <= {"models"}  # data was already loaded
    assert "agents" not in loaded["envs.text_gen"]


def test_import_is_light():
    """`import seq2seq_gym` registers the environments without importing torch."""
    code = (
        "import sys, seq2seq_gym, gymnasium as gym; "
        "print('torch' in sys.modules, 'Seq2Seq/Summarization-v0' in gym.registry)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "True"]
