"""Where data set versions' Parquet bytes live: files under DOTORO_HOME, or the store itself (team mode)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select

from studio.settings import Settings
from studio.store.models import DatasetBlob
from studio.store.session import TenantSession


class BlobStore(Protocol):
    def put(self, s: TenantSession, key: str, content: bytes) -> None: ...
    def get(self, s: TenantSession, key: str) -> bytes: ...
    def delete(self, s: TenantSession, key: str) -> None: ...


class FileBlobs:
    """Embedded mode: one file per version under DOTORO_HOME/data/<workspace>/ (written atomically)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, ws: uuid.UUID, key: str) -> Path:
        if "/" in key or ".." in key:
            raise ValueError(f"bad storage key {key!r}")
        return self.root / str(ws) / key

    def put(self, s: TenantSession, key: str, content: bytes) -> None:
        path = self._path(s.workspace_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        os.replace(tmp, path)
        # if the transaction fails, the file must not outlive it
        s.info.setdefault("on_rollback", []).append(lambda: path.unlink(missing_ok=True))

    def get(self, s: TenantSession, key: str) -> bytes:
        return self._path(s.workspace_id, key).read_bytes()

    def delete(self, s: TenantSession, key: str) -> None:
        path = self._path(s.workspace_id, key)
        s.info.setdefault("after_commit", []).append(lambda: path.unlink(missing_ok=True))


class DatabaseBlobs:
    """Team mode: bytes in the store (RLS applies), readable by every worker on every machine."""

    def put(self, s: TenantSession, key: str, content: bytes) -> None:
        s.add(DatasetBlob(workspace_id=s.workspace_id, storage_key=key, content=content))

    def get(self, s: TenantSession, key: str) -> bytes:
        content = s.scalar(select(DatasetBlob.content).where(DatasetBlob.storage_key == key))
        if content is None:
            raise FileNotFoundError(key)
        return bytes(content)

    def delete(self, s: TenantSession, key: str) -> None:
        s.execute(delete(DatasetBlob).where(DatasetBlob.storage_key == key))


def blob_store(settings: Settings) -> BlobStore:
    if settings.storage == "database":
        return DatabaseBlobs()
    return FileBlobs(settings.home / "data")
