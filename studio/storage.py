"""Where data set versions' Parquet bytes live: files under DOTORO_HOME, or the store itself (team mode)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, select

from studio.settings import Settings
from studio.store.models import DatasetBlob
from studio.store.session import TenantSession

log = logging.getLogger(__name__)


class BlobStore(Protocol):
    def put(self, s: TenantSession, key: str, content: bytes) -> None: ...
    def get(self, s: TenantSession, key: str) -> bytes: ...
    def delete(self, s: TenantSession, key: str) -> None: ...


class FileBlobs:
    """Embedded mode: one file per version under DOTORO_HOME/data/<workspace>/ (written atomically)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, ws: uuid.UUID, key: str) -> Path:
        return self.root / str(ws) / _checked(key)

    def path(self, s: TenantSession, key: str) -> Path:
        """Where the version's file is (it exists while the version does)."""
        return self._path(s.workspace_id, key)

    def put(self, s: TenantSession, key: str, content: bytes) -> None:
        path = self._path(s.workspace_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        os.replace(tmp, path)
        # if the transaction fails, the file must not outlive it
        s.info.setdefault("on_rollback", []).append(lambda: path.unlink(missing_ok=True))

    def get(self, s: TenantSession, key: str) -> bytes:
        return self.path(s, key).read_bytes()

    def delete(self, s: TenantSession, key: str) -> None:
        path = self._path(s.workspace_id, key)
        s.info.setdefault("after_commit", []).append(lambda: path.unlink(missing_ok=True))


class DatabaseBlobs:
    """Team mode: bytes in the store (RLS applies), readable by every worker on every machine.

    `copies`: this machine's copies (see `local_file`); a blob written here is copied there once its
    transaction commits, so a worker on the same machine (a one-box team setup) reads its first chunk
    without pulling the data set back out of Postgres (0.8 s for a 1M-row set)."""

    def __init__(self, copies: Path | None = None) -> None:
        self.copies = copies

    def put(self, s: TenantSession, key: str, content: bytes) -> None:
        s.add(DatasetBlob(workspace_id=s.workspace_id, storage_key=key, content=content))
        if self.copies is not None:
            path = self.copies / str(s.workspace_id) / _checked(key)
            s.info.setdefault("after_commit", []).append(lambda: _copy_if_possible(path, content))

    def get(self, s: TenantSession, key: str) -> bytes:
        content = s.scalar(select(DatasetBlob.content).where(DatasetBlob.storage_key == key))
        if content is None:
            raise FileNotFoundError(key)
        return bytes(content)

    def delete(self, s: TenantSession, key: str) -> None:
        s.execute(delete(DatasetBlob).where(DatasetBlob.storage_key == key))


def _checked(key: str) -> str:
    if "/" in key or ".." in key or key.startswith("."):
        raise ValueError(f"bad storage key {key!r}")
    return key


CACHE_MAX_BYTES = 4 * 1024 ** 3
CACHE_MAX_AGE_S = 24 * 3600
"""The per-machine copies of team-mode blobs: at most this many bytes, none unread for longer."""


def local_file(settings: Settings, s: TenantSession, key: str) -> Path:
    """A file on this machine with the blob's bytes (read it soon: copies are evicted, see below).

    Embedded mode: the blob's own file. Team mode: a copy under DOTORO_HOME/cache, fetched from
    the store once per machine, so a run's chunk jobs do not each pull the data set out of
    Postgres. A version's bytes never change, so a copy is never stale; the caller has read the
    version's row in `s` (RLS), so a deleted version is never served from a copy. Copies unread
    for CACHE_MAX_AGE_S, and the oldest beyond CACHE_MAX_BYTES, are deleted.
    """
    blobs = blob_store(settings)
    if isinstance(blobs, FileBlobs):
        return blobs.path(s, key)
    path = _copies(settings) / str(s.workspace_id) / _checked(key)
    with contextlib.suppress(FileNotFoundError):
        os.utime(path)  # recently used: evicted last
        return path
    _copy_here(path, blobs.get(s, key))
    return path


def _copy_if_possible(path: Path, content: bytes) -> None:
    """After the blob's commit: a full disk or a read-only cache only means a worker fetches it later."""
    try:
        _copy_here(path, content)
    except OSError as exc:
        log.warning("could not keep a copy of %s on this machine: %s", path.name, exc)


def _copy_here(path: Path, content: bytes) -> None:
    """Write a machine's copy atomically (another job may read or write the same one), then evict."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    _evict(path.parent.parent, keep=path)


def _copies(settings: Settings) -> Path:
    return settings.home / "cache" / "blobs"


def _evict(root: Path, *, keep: Path) -> None:
    now = time.time()
    files = []
    for f in root.glob("*/*"):
        with contextlib.suppress(FileNotFoundError):
            st = f.stat()
            age = now - st.st_mtime
            if f.name.startswith("."):  # a copy being written by another job (or left by a killed one)
                if age > 3600:
                    f.unlink(missing_ok=True)
            elif f != keep and age > CACHE_MAX_AGE_S:
                f.unlink(missing_ok=True)
            elif f != keep:
                files.append((st.st_mtime, st.st_size, f))
    total = keep.stat().st_size + sum(size for _, size, _ in files)
    for _, size, f in sorted(files):
        if total <= CACHE_MAX_BYTES:
            break
        f.unlink(missing_ok=True)
        total -= size


T = TypeVar("T")

MEMORY_ENTRIES = 2
MEMORY_MAX_BYTES = 1024 ** 3
"""What one process keeps of read data set versions: at most this many, and this many bytes."""

_memory: OrderedDict[tuple[uuid.UUID, str], tuple[Any, int]] = OrderedDict()
_memory_lock = threading.Lock()


def in_memory(settings: Settings, s: TenantSession, key: str, read: Callable[[Path], T],
              size: Callable[[T], int] = lambda _: 0) -> T:
    """`read(local_file(...))`, kept in this process for the next caller of the same version.

    For jobs that read the same version chunk after chunk (a run's chunks on one worker). As with
    `local_file`, the caller has read the version's row in `s`, so row-level security has just said
    this workspace may read it: a cached value is only ever handed out after that check, and is
    keyed by workspace and storage key (a version's bytes never change, so it is never stale).
    The least recently used values beyond MEMORY_ENTRIES or MEMORY_MAX_BYTES are dropped.
    """
    ident = (s.workspace_id, _checked(key))
    with _memory_lock:
        if ident in _memory:
            _memory.move_to_end(ident)
            return _memory[ident][0]  # type: ignore[no-any-return]
    value = read(local_file(settings, s, key))
    nbytes = size(value)
    with _memory_lock:
        _memory[ident] = (value, nbytes)
        _memory.move_to_end(ident)
        while len(_memory) > 1 and (len(_memory) > MEMORY_ENTRIES
                                    or sum(b for _, b in _memory.values()) > MEMORY_MAX_BYTES):
            _memory.popitem(last=False)
    return value


def forget_in_memory() -> None:
    """Drop every value `in_memory` keeps (tests; a worker that must free memory)."""
    with _memory_lock:
        _memory.clear()


def blob_store(settings: Settings) -> BlobStore:
    if settings.storage == "database":
        return DatabaseBlobs(_copies(settings))
    return FileBlobs(settings.home / "data")
