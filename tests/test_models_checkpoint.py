"""Checkpoints as a whole: atomic directory commits (killed at random moments), hashes, errors on load."""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from seq2seq_gym.data import Vocab
from seq2seq_gym.models import ModelConfig, Seq2SeqModel, load_model, save_model
from seq2seq_gym.models.checkpoint import sha256_file, sha256_json
from seq2seq_gym.utils import atomic, atomic_directory, atomic_write, committed_directory

VOCAB = Vocab([f"w{i}" for i in range(12)])
MODEL_FILES = ["config.json", "model.safetensors", "vocab.txt"]


def tiny(seed: int = 0, vocab: Vocab | None = VOCAB, **kw) -> Seq2SeqModel:
    gen = torch.Generator().manual_seed(seed)
    model = Seq2SeqModel(ModelConfig.tiny(len(vocab) if vocab else 16, **kw), vocab)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return model.eval()


def same_weights(a: Seq2SeqModel, b: Seq2SeqModel) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def leftovers(parent: Path, name: str) -> list[str]:
    """Entries of ``parent`` other than ``name`` (temporary dirs and files of any save)."""
    return sorted(p for p in os.listdir(parent) if p != name)


# ----------------------------------------------------------------- kill loop
SAVER = textwrap.dedent(
    """
    import os, sys
    import torch
    torch.set_num_threads(1)
    from seq2seq_gym.models import Seq2SeqModel
    from seq2seq_gym.utils import atomic
    target, ref_a, ref_b, exchange = sys.argv[1:5]
    atomic._USE_EXCHANGE = exchange == "1"
    models = [Seq2SeqModel.load(ref_b), Seq2SeqModel.load(ref_a)]
    print("ready", flush=True)
    for line in sys.stdin:  # one line: fork a child that saves B, A, B, ... over target until it is killed
        pid = os.fork()
        if pid == 0:
            i = 0
            while True:
                models[i % 2].save(target)
                i += 1
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
    """
)


def kill_loop(tmp_path: Path, kills: int, exchange: bool, seed: int) -> dict[str, int]:
    """Kill a process saving A/B alternately over a checkpoint ``kills`` times; check the folder after each."""
    a, b = tiny(1), tiny(2)
    ref_a, ref_b, target = tmp_path / "ref_a", tmp_path / "ref_b", tmp_path / "run" / "ck"
    a.save(ref_a)
    b.save(ref_b)
    a.save(target)
    (target / "metrics.json").write_text('{"kept": true}\n')  # not the checkpoint's: must survive every save
    root = str(Path(__file__).resolve().parents[1])  # this checkout, ahead of any installed copy
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(target), str(ref_a), str(ref_b), "1" if exchange else "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )
    t0 = time.perf_counter()
    for _ in range(3):
        a.save(target)
    save_s = (time.perf_counter() - t0) / 3  # the kills are spread over about three saves of the child
    rng = random.Random(seed)
    seen = {"old_or_a": 0, "b": 0, "interrupted": 0}
    try:
        assert proc.stdout.readline().strip() == "ready"
        for _ in range(kills):
            proc.stdin.write("go\n")
            proc.stdin.flush()
            pid = int(proc.stdout.readline())
            time.sleep(rng.uniform(0.0, 3 * save_s))  # a random moment of the child's saving loop
            os.kill(pid, signal.SIGKILL)
            assert proc.stdout.readline().strip() == "reaped"

            if leftovers(target.parent, "ck"):
                seen["interrupted"] += 1  # killed inside a save
            loaded = Seq2SeqModel.load(target)  # old or new, complete, never a mixture
            if same_weights(loaded, a):
                seen["old_or_a"] += 1
            else:
                assert same_weights(loaded, b), "the checkpoint loads, but as neither the old nor the new model"
                seen["b"] += 1
            assert (committed_directory(target) / "metrics.json").read_text() == '{"kept": true}\n'

            a.save(target)  # the next save removes whatever the killed one left
            assert leftovers(target.parent, "ck") == []
            assert sorted(os.listdir(target)) == ["config.json", "metrics.json", "model.safetensors", "vocab.txt"]
            assert same_weights(Seq2SeqModel.load(target), a)
    finally:
        proc.stdin.close()
        proc.kill()
        proc.wait()
    return seen


@pytest.mark.slow
def test_checkpoint_survives_being_killed_mid_save(tmp_path):
    """60 SIGKILLs at random moments of saves over an existing checkpoint (renameat2 exchange)."""
    seen = kill_loop(tmp_path, kills=60, exchange=True, seed=0)
    assert seen["b"] > 0 and seen["old_or_a"] > 0  # kills landed before and after commits
    assert seen["interrupted"] >= 30  # most kills hit a save in progress (the loop saves back to back)


@pytest.mark.slow
def test_checkpoint_survives_being_killed_with_the_two_rename_fallback(tmp_path):
    """The fallback where RENAME_EXCHANGE is unsupported keeps the same promise (readers follow the backup)."""
    seen = kill_loop(tmp_path, kills=25, exchange=False, seed=1)
    assert seen["b"] > 0 and seen["old_or_a"] > 0 and seen["interrupted"] >= 10


# --------------------------------------------------------- atomic_directory
def test_atomic_directory_commits_as_a_whole_and_keeps_foreign_files(tmp_path):
    target = tmp_path / "d"
    with atomic_directory(target, owned={"a", "b"}) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".d.tmp-") and not target.exists()
        (tmp / "a").write_text("1")
        (tmp / "b").write_text("1")
    assert sorted(os.listdir(tmp_path)) == ["d"]
    (target / "notes.txt").write_text("mine")
    (target / "sub").mkdir()
    (target / "sub" / "x").write_text("deep")
    os.symlink("notes.txt", target / "link")
    target.chmod(0o750)
    inode = os.stat(target / "notes.txt").st_ino
    with atomic_directory(target, owned={"a", "b"}) as tmp:
        (tmp / "a").write_text("2")  # "b" is owned and not written again: dropped
        assert (target / "a").read_text() == "1"  # the old version is intact until the commit
    assert sorted(os.listdir(target)) == ["a", "link", "notes.txt", "sub"]
    assert (target / "a").read_text() == "2" and (target / "sub" / "x").read_text() == "deep"
    assert os.stat(target / "notes.txt").st_ino == inode  # carried by a hard link, not copied
    assert os.readlink(target / "link") == "notes.txt"
    assert (target.stat().st_mode & 0o777) == 0o750
    assert sorted(os.listdir(tmp_path)) == ["d"]


def test_atomic_directory_failure_changes_nothing(tmp_path):
    target = tmp_path / "d"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_directory(target) as tmp:
        (tmp / "a").write_text("new")
        raise RuntimeError("boom")
    assert (target / "a").read_text() == "old" and sorted(os.listdir(tmp_path)) == ["d"]
    (tmp_path / "f").write_text("a file")
    with pytest.raises(NotADirectoryError), atomic_directory(tmp_path / "f"):
        pass
    assert (tmp_path / "f").read_text() == "a file" and sorted(os.listdir(tmp_path)) == ["d", "f"]
    with pytest.raises(ValueError, match="owned"), atomic_directory(target, owned={"x/y"}):
        pass


def test_stale_staging_dirs_are_removed_but_not_a_live_one(tmp_path):
    target = tmp_path / "d"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("1")
    stale = tmp_path / ".d.tmp-0123abcd"
    stale.mkdir()
    (stale / "half-written").write_text("x")
    live = tmp_path / ".d.tmp-89abcdef"
    live.mkdir()
    other = tmp_path / ".d.tmp-b.tmp-01234567"  # a staging dir of another target named "d.tmp-b"
    other.mkdir()
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a saver in another process holds its staging directory
    try:
        assert committed_directory(target) == target  # readers ignore staging dirs
        with atomic_directory(target) as tmp:
            (tmp / "a").write_text("2")
        assert not stale.exists() and live.exists() and other.exists()
    finally:
        os.close(fd)
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("3")
    assert sorted(os.listdir(tmp_path)) == [".d.tmp-b.tmp-01234567", "d"]


def test_fallback_without_exchange_recovers_an_interrupted_commit(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_USE_EXCHANGE", False)
    a, b = tiny(1), tiny(2)
    target = tmp_path / "ck"
    a.save(target)
    b.save(target)  # two renames
    assert same_weights(load_model(target), b) and sorted(os.listdir(tmp_path)) == ["ck"]
    # a kill between the two renames: the target is gone, the old version waits under its backup name
    (tmp_path / ".ck.tmp-00000000").mkdir()
    os.rename(target, tmp_path / ".ck.old-00000000")
    assert committed_directory(target) == tmp_path / ".ck.old-00000000"
    assert same_weights(load_model(target), b)
    a.save(target)
    assert same_weights(load_model(target), a) and sorted(os.listdir(tmp_path)) == ["ck"]


def test_unswappable_targets_fail_clearly_and_change_nothing(tmp_path, monkeypatch):
    """A read-only parent or a mount point cannot hold an atomic swap: a clear error, nothing changed."""
    import errno

    target = tmp_path / "ck"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("old")
    real_mkdir = os.mkdir

    def read_only_parent(path, *args, **kwargs):
        if Path(path).name.startswith(".ck.tmp-"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "mkdir", read_only_parent)
    with pytest.raises(PermissionError, match=r"staged beside it, in .* which is not writable"), \
            atomic_directory(target):
        pass
    monkeypatch.setattr(atomic.os, "mkdir", real_mkdir)

    def mount_point(a, b):
        raise OSError(errno.EBUSY, "Device or resource busy", str(b))

    monkeypatch.setattr(atomic, "_exchange", mount_point)
    with pytest.raises(OSError, match="probably a mount point; save into a directory inside it"), \
            atomic_directory(target) as tmp:
        (tmp / "a").write_text("new")
    assert (target / "a").read_text() == "old" and sorted(os.listdir(tmp_path)) == ["ck"]


def test_a_symlinked_checkpoint_dir_stays_a_symlink(tmp_path):
    real = tmp_path / "real"
    tiny(1).save(real)
    os.symlink(real, tmp_path / "link")
    tiny(2).save(tmp_path / "link")
    assert (tmp_path / "link").is_symlink() and same_weights(load_model(real), tiny(2))


def test_atomic_write(tmp_path):
    path = tmp_path / "metrics.json"
    atomic_write(path, "one")
    path.chmod(0o640)
    (tmp_path / ".metrics.json.tmp-0badc0de").write_text("left by a killed writer")
    atomic_write(path, b"two")
    assert path.read_text() == "two" and (path.stat().st_mode & 0o777) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["metrics.json"]
    with pytest.raises(TypeError, match="data"):
        atomic_write(path, 3)
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path, "x")


# ------------------------------------------------------------- model files
def test_save_replaces_only_the_model_files(tmp_path):
    ck = tmp_path / "ck"
    tiny(1).save(ck)
    (ck / "metrics.json").write_text("{}")
    tiny(2, vocab=None).save(ck)  # a model without vocabulary: the old vocab.txt goes, metrics.json stays
    assert sorted(os.listdir(ck)) == ["config.json", "metrics.json", "model.safetensors"]
    assert load_model(ck).vocab is None and sorted(os.listdir(tmp_path)) == ["ck"]
    with pytest.raises(TypeError, match="Seq2SeqModel"):
        save_model(object(), ck)


def test_edited_config_is_detected_and_named(tmp_path):
    ck = tmp_path / "ck"
    tiny(1).save(ck)
    meta = json.loads((ck / "config.json").read_text())
    (ck / "config.json").write_text(json.dumps(meta))  # layout only (one line): still the same checkpoint
    load_model(ck)
    meta["config"]["intra_temporal"] = True  # would silently change every output
    (ck / "config.json").write_text(json.dumps(meta, indent=2))
    with pytest.raises(ValueError, match=r"config\.json was edited") as e:
        load_model(ck)
    assert "intra_temporal is true there but was false when saved" in str(e.value)
    meta["config"]["intra_temporal"] = False
    meta["vocab"]["lower"] = True
    (ck / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"config\.json was edited"):
        load_model(ck)


def test_shape_mismatch_is_a_value_error(tmp_path):
    small, big = tmp_path / "small", tmp_path / "big"
    tiny(1).save(small)
    tiny(2, vocab=Vocab([f"w{i}" for i in range(20)])).save(big)
    # a consistent forgery: another model's weights, with every hash recomputed
    shutil.copy(big / "model.safetensors", small / "model.safetensors")
    meta = json.loads((small / "config.json").read_text())
    meta["weights"]["sha256"] = sha256_file(small / "model.safetensors")
    meta["sha256"] = sha256_json({k: v for k, v in meta.items() if k != "sha256"})
    (small / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"do not fit .*config\.json: embedding\.weight is \[24, 16\] in the weights "
                                         r"but \[16, 16\] for the config"):
        load_model(small)


def test_bad_map_location_names_the_argument(tmp_path):
    ck = tmp_path / "ck"
    tiny(1).save(ck)
    with pytest.raises(ValueError, match=r"map_location='bogus' is not a torch device"):
        load_model(ck, map_location="bogus")
    with pytest.raises(ValueError, match="map_location"):
        Seq2SeqModel.load(ck, map_location="cuda:99")
    with pytest.raises(TypeError, match="map_location"):
        load_model(ck, map_location=1.5)
    assert load_model(ck, map_location=torch.device("cpu")).device.type == "cpu"


def test_loading_leaves_the_global_rng_alone(tmp_path):
    """Building the model to load into must not draw from torch's global generator (the caller's)."""
    tiny(1).save(tmp_path / "ck")
    state = torch.get_rng_state()
    load_model(tmp_path / "ck")
    assert torch.equal(torch.get_rng_state(), state)


def test_legacy_format_still_loads(tmp_path):
    ck = tmp_path / "ck"
    model = tiny(3)
    model.save(ck)
    meta = json.loads((ck / "config.json").read_text())
    del meta["sha256"]
    meta["format"] = "seq2seq_gym.models/1"
    (ck / "config.json").write_text(json.dumps(meta))
    assert same_weights(load_model(ck), model)
    meta["format"] = "seq2seq_gym.models/2"  # the current format must carry its hash
    (ck / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="edited"):
        load_model(ck)
