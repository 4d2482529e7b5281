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
