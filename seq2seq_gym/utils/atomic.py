"""Atomic replacement of a whole directory (a checkpoint as one unit), and of one file.

A checkpoint is several files that belong together: weights, config,
vocabulary, optimizer and RNG states. Replacing them one by one leaves a
mixture when the process dies in between. :func:`atomic_directory` builds the
new version in a staging directory beside the target and then swaps the two
directories in one system call, so that at every moment the target path holds
one complete version, the old or the new.

How a commit works (``target`` is ``<parent>/<name>``):

1. The caller writes the new version into a fresh staging directory
   ``<parent>/.<name>.tmp-<8 hex digits>`` (same parent, so same filesystem).
   The staging directory is ``flock``-ed while in use.
2. Entries of the current target that the writer does not own (``owned``)
   and did not write itself are hard-linked into the staging directory
   (copied where the filesystem has no hard links): files that other code
   keeps beside a checkpoint, such as ``metrics.json``, survive the save.
3. Every file and directory of the staging tree is ``fsync``-ed.
4. Commit. A first save is a plain ``rename(staging, target)``. Over an
   existing target, Linux ``renameat2(staging, target, RENAME_EXCHANGE)``
   (called through ``ctypes``) swaps the two directories atomically; the
   staging path then holds the old version, which is deleted. The parent
   directory is ``fsync``-ed.

A process killed at any moment leaves the target complete (old or new); what
it leaves behind is a staging directory, which the next commit for the same
target removes (unless it is ``flock``-ed by a live writer) and which readers
never look at.

Fallback where ``RENAME_EXCHANGE`` is unavailable (not Linux, a glibc older
than 2.28, or a filesystem that refuses it with ``EINVAL`` / ``ENOTSUP``):
two renames, ``target -> <parent>/.<name>.old-<hex>`` then ``staging ->
target``, then the old version is deleted. A kill between the two renames
leaves no directory at ``target`` but the complete old version at the
``.old-`` path: :func:`committed_directory` (what readers call) returns that
path in this case, and the next commit renames it back first. So the
promise (old or new, always loadable) holds, with readers needing
:func:`committed_directory`.

Not supported: two processes committing the same target at the same time
(each commit stays atomic, but one of them may fail with an ``OSError``).
Entries created in the target by another process *while* a commit runs are
moved into the new version after the swap (a kill in that instant can lose
them).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import shutil
import stat
import sys
import warnings
from collections.abc import Collection, Iterator
from pathlib import Path

try:  # POSIX only; without it stale staging directories are removed without the liveness check
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["atomic_directory", "atomic_write", "committed_directory"]

_STAGING = ".tmp-"
_BACKUP = ".old-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# Tests set this to False to exercise the two-rename fallback.
_USE_EXCHANGE = True
_renameat2_cache: list = []


# ----------------------------------------------------------------------------- paths
def _target_path(path: str | os.PathLike) -> Path:
    """Absolute path of ``path``; a symlink to a directory is followed (the real directory is replaced)."""
    p = Path(os.path.abspath(os.fspath(path)))
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    if not p.name or p.name in (".", ".."):
        raise ValueError(f"path must name a directory or file inside a parent directory, got {os.fspath(path)!r}")
    return p


def _siblings(target: Path, mark: str) -> list[Path]:
    """Staging (``mark=".tmp-"``) or backup (``".old-"``) entries of ``target`` in its parent."""
    pattern = re.compile(re.escape(f".{target.name}{mark}") + r"[0-9a-f]{8}\Z")
    try:
        names = os.listdir(target.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [target.parent / n for n in names if pattern.match(n)]


def _new_sibling_name(target: Path, mark: str) -> Path:
    for _ in range(1000):
        p = target.parent / f".{target.name}{mark}{secrets.token_hex(4)}"
        if not os.path.lexists(p):
            return p
    raise FileExistsError(f"cannot find a free temporary name for {target}")  # pragma: no cover


# ---------------------------------------------------------------------- file system
def _rmtree(path: Path) -> None:
    """Remove a file or directory tree; entries that vanish meanwhile (another cleaner) are fine."""

    def ignore_missing(func, p, exc):  # type: ignore[no-untyped-def]
        err = exc if isinstance(exc, BaseException) else exc[1]
        if not isinstance(err, FileNotFoundError):
            raise err

    try:
        if os.path.isdir(path) and not os.path.islink(path):
            if sys.version_info >= (3, 12):
                shutil.rmtree(path, onexc=ignore_missing)
            else:  # pragma: no cover - depends on the interpreter
                shutil.rmtree(path, onerror=ignore_missing)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_path(path: str | os.PathLike) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. directories on Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every regular file and directory under ``root`` (and ``root``)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            p = os.path.join(dirpath, name)
            if stat.S_ISREG(os.lstat(p).st_mode):
                _fsync_path(p)
        _fsync_path(dirpath)


def _link_tree(src: str, dst: str) -> None:
    """Recreate ``src`` at ``dst`` with hard links (copies where links fail), symlinks as symlinks."""
    st = os.lstat(src)
    if stat.S_ISDIR(st.st_mode):
        os.mkdir(dst)
        with os.scandir(src) as it:
            for entry in it:
                _link_tree(entry.path, os.path.join(dst, entry.name))
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    elif stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
    else:
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            if not stat.S_ISREG(st.st_mode):
                warnings.warn(f"atomic_directory: cannot carry {src} (not a regular file) into the new version",
                              RuntimeWarning, stacklevel=4)
                return
            shutil.copy2(src, dst, follow_symlinks=False)


def _carry_over(old: Path, new: Path, owned: frozenset[str]) -> None:
    """Entries of ``old`` that are neither owned nor already in ``new`` are linked into ``new``."""
    with os.scandir(old) as it:
        for entry in it:
            if entry.name in owned or os.path.lexists(new / entry.name):
                continue
            _link_tree(entry.path, str(new / entry.name))


def _lock(path: Path, blocking: bool = True) -> int | None:
    """An open descriptor of ``path`` holding an exclusive ``flock``; None without fcntl or if held elsewhere."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _remove_stale(target: Path) -> None:
    """Remove staging entries of ``target`` left by interrupted saves (not those a live writer holds)."""
    for p in _siblings(target, _STAGING):
        if fcntl is None:  # pragma: no cover - Windows: no liveness check
            _rmtree(p)
            continue
        try:
            fd = _lock(p, blocking=False)
        except FileNotFoundError:
            continue
        if fd is None:  # a live writer holds it
            continue
        try:
            _rmtree(p)
        finally:
            os.close(fd)


def _recover(target: Path) -> None:
    """Finish a fallback commit that was interrupted between its two renames; drop old backups."""
    backups = _siblings(target, _BACKUP)
    if not backups:
        return
    if not os.path.lexists(target):
        newest = max(backups, key=lambda p: p.lstat().st_ctime_ns)
        os.rename(newest, target)
        backups.remove(newest)
    for b in backups:
        _rmtree(b)


# --------------------------------------------------------------------------- commit
def _renameat2():  # type: ignore[no-untyped-def]
    """The C library's ``renameat2``, or None where there is none (not Linux, old glibc)."""
    if not _renameat2_cache:
        fn = None
        if sys.platform.startswith("linux"):
            try:
                fn = ctypes.CDLL(None, use_errno=True).renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                fn.restype = ctypes.c_int
            except (AttributeError, OSError):  # pragma: no cover - glibc < 2.28, musl without it
                fn = None
        _renameat2_cache.append(fn)
    return _renameat2_cache[0]


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap directories ``a`` and ``b``; False where the system cannot (then nothing changed)."""
    fn = _renameat2() if _USE_EXCHANGE else None
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, f"renameat2(RENAME_EXCHANGE) failed: {os.strerror(err)}", str(b))


def _unswappable(target: Path, err: OSError) -> OSError:
    return OSError(
        err.errno,
        f"cannot replace {target} as a whole ({os.strerror(err.errno or 0)}): it is probably a mount point; "
        f"save into a directory inside it instead (e.g. {target / 'run'})",
        str(target),
    )


def _commit(staging: Path, target: Path, owned: frozenset[str], durable: bool) -> None:
    """Put ``staging`` at ``target``. Raises only if nothing changed; later errors become warnings."""
    if not os.path.isdir(target):
        os.rename(staging, target)  # first save (an empty directory at target is replaced, POSIX)
        if durable:
            _fsync_path(target.parent)
        return
    try:
        exchanged = _exchange(staging, target)
    except OSError as e:
        if e.errno in (errno.EBUSY, errno.EXDEV):
            raise _unswappable(target, e) from None
        raise
    if exchanged:
        old = staging
    else:
        old = _new_sibling_name(target, _BACKUP)
        try:
            os.rename(target, old)
        except OSError as e:
            if e.errno in (errno.EBUSY, errno.EXDEV):
                raise _unswappable(target, e) from None
            raise
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(old, target)
            raise
    try:
        # entries another process created in the target while we staged: move them into the new version
        with os.scandir(old) as it:
            for entry in it:
                if entry.name not in owned and not os.path.lexists(target / entry.name):
                    with contextlib.suppress(OSError):
                        os.rename(entry.path, target / entry.name)
        if durable:
            _fsync_path(target.parent)
        _rmtree(old)
    except OSError as e:  # the new version is committed; only the cleanup failed
        warnings.warn(f"atomic_directory: committed {target}, but could not remove the old version {old}: {e}",
                      RuntimeWarning, stacklevel=3)


@contextlib.contextmanager
def atomic_directory(
    path: str | os.PathLike, owned: Collection[str] = (), *, durable: bool = True
) -> Iterator[Path]:
    """Replace the directory ``path`` as a whole: write the new version into the yielded directory.

    On a normal exit of the ``with`` block the staging directory becomes
    ``path`` in one atomic step; on an exception nothing changes and the
    staging directory is removed. The mechanism, its fallback and the
    guarantees are described in the module docstring: after a kill at any
    moment, ``committed_directory(path)`` holds the old or the new version,
    complete, and no temporary entry survives the next commit.

    Example::

        with atomic_directory("runs/gen", owned={"model.safetensors", "config.json"}) as tmp:
            save_file(tensors, tmp / "model.safetensors")
            (tmp / "config.json").write_text(config)

    Args:
        path: the directory to create or replace (parents are created; a
            symlink is followed and the directory it points to is replaced).
        owned: top-level names this writer is responsible for. An entry of the
            current version whose name is in ``owned`` and that the block did
            not write again is dropped; every other entry that the block did
            not write (``metrics.json``, a user's notes) is carried into the
            new version by hard links.
        durable: ``fsync`` the files and directories before and after the
            swap (survives power loss, not only process kills). The swap is
            atomic either way.

    Yields:
        The staging directory (a ``Path``), empty; the current version is
        still readable at ``path`` meanwhile.

    Raises:
        NotADirectoryError: ``path`` exists and is not a directory.
        PermissionError: the parent directory is not writable (the staging
            directory must live beside ``path``); nothing changed.
        OSError: ``path`` is a mount point (``EBUSY`` / ``EXDEV``): a directory
            cannot be swapped there; nothing changed. Save into a subdirectory.
        ValueError: an ``owned`` entry is not a plain file name.
    """
    owned_set = frozenset(owned)
    for name in owned_set:
        if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or os.sep in name:
            raise ValueError(f"owned must hold plain file names, got {name!r}")
    target = _target_path(path)
    if os.path.lexists(target) and not target.is_dir():
        raise NotADirectoryError(f"{target} exists and is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    _recover(target)
    _remove_stale(target)
    staging = _new_sibling_name(target, _STAGING)
    try:
        os.mkdir(staging)
    except OSError as e:
        if not isinstance(e, PermissionError) and e.errno != errno.EROFS:
            raise
        raise PermissionError(
            e.errno,
            f"cannot replace {target} as a whole: the new version is staged beside it, in {target.parent}, "
            f"which is not writable ({os.strerror(e.errno or 0)}); save into a directory inside {target} instead",
            str(staging),
        ) from None
    fd = _lock(staging)
    try:
        try:
            yield staging
            if target.is_dir():
                _carry_over(target, staging, owned_set)
                os.chmod(staging, stat.S_IMODE(target.stat().st_mode))
            if durable:
                _fsync_tree(staging)
            _commit(staging, target, owned_set, durable)
        except BaseException:
            _rmtree(staging)
            raise
    finally:
        if fd is not None:
            os.close(fd)


def committed_directory(path: str | os.PathLike) -> Path:
    """The directory a reader of ``path`` should read: ``path`` itself, or the old version after a fallback kill.

    Only the two-rename fallback of :func:`atomic_directory` can leave
    ``path`` missing for an instant (its old version then waits under a
    ``.<name>.old-`` name); this returns that version. If neither exists the
    (absolute) ``path`` is returned, and the caller's own not-found error applies.
    """
    target = _target_path(path)
    if target.is_dir() or os.path.lexists(target):
        return target
    backups = [b for b in _siblings(target, _BACKUP) if b.is_dir()]
    if backups:
        return max(backups, key=lambda p: p.lstat().st_ctime_ns)
    return target


def atomic_write(
    path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8", durable: bool = True
) -> None:
    """Replace the file ``path`` with ``data`` atomically (temporary file beside it, then rename).

    The temporary file is ``.<name>.tmp-<8 hex digits>``; ones left by
    killed writers are removed by the next write of the same file. An
    existing file's permission bits are kept.

    Args:
        path: the file (parent directories are created).
        data: text (encoded with ``encoding``) or bytes.
        encoding: encoding of text data.
        durable: ``fsync`` the file and its directory.
    """
    if not isinstance(data, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"data must be str or bytes, got {type(data).__name__}")
    target = _target_path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a directory")
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    tmp = _new_sibling_name(target, _STAGING)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        if target.exists():
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        if durable:
            os.fsync(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
    if durable:
        _fsync_path(target.parent)
