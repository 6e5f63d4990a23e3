"""Reading a workspace export (studio.workspace_export) safely: the zip's limits, its manifest, its rows.

Format versions: an archive says which one it was written in (manifest `format_version`). This studio
writes FORMAT_VERSION and reads every version from OLDEST_FORMAT_VERSION on: a table that came into the
archive later (workspace_export.SINCE: the word list, feed sources and their fetch log, webhook endpoints
and notification preferences since version 3) is simply absent from an older archive, which imports
without it. An archive of a newer version than this studio knows is refused (update the studio first),
and so is one older than the oldest it reads (export it again).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from studio.errors import ValidationFailed
from studio.workspace_export import FORMAT, FORMAT_VERSION, OLDEST_FORMAT_VERSION, SINCE, TABLE_FILES

MAX_UNPACKED_BYTES = 2 * 1024 ** 3
MAX_RATIO = 200  # a member unpacking to more than 200× its packed size (above 10 MB) is a zip bomb
MAX_ENTRIES = 20_000
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


class ImportRefused(ValidationFailed):
    """The archive cannot be imported; the message says why and what to do."""


def open_archive(data: bytes) -> zipfile.ZipFile:
    """The zip, once its entries passed the limits (count, paths, unpacked size, compression ratio)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportRefused("This file is not a zip archive: choose the .zip that 'Export everything' made.") from None
    infos = z.infolist()
    if len(infos) > MAX_ENTRIES:
        raise ImportRefused(f"This archive holds {len(infos):,} files, more than an export ever has ({MAX_ENTRIES:,}).")
    total = 0
    for info in infos:
        if info.filename.startswith(("/", "\\")) or ".." in info.filename.split("/"):
            raise ImportRefused(f"This archive has a file outside its folder ({info.filename!r}); it was not made by "
                                "'Export everything'.")
        total += info.file_size
        if info.file_size > 10 * 1024 ** 2 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportRefused(f"{info.filename!r} would unpack to {info.file_size:,} bytes from {info.compress_size:,}: "
                                "this looks like a zip bomb, not a workspace export.")
    if total > MAX_UNPACKED_BYTES:
        raise ImportRefused(f"This archive unpacks to {total / 1024 ** 3:.1f} GB, more than the "
                            f"{MAX_UNPACKED_BYTES // 1024 ** 3} GB an import may hold.")
    return z


def read_json(z: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(z.read(name))
    except KeyError:
        raise ImportRefused(f"{name} is missing from the archive: it is not a complete workspace export.") from None
    except (ValueError, zipfile.BadZipFile) as exc:
        raise ImportRefused(f"{name} in the archive cannot be read ({exc}); export the workspace again.") from None


def manifest(z: zipfile.ZipFile) -> dict[str, Any]:
    """The manifest, refused when it is not one of a format version this studio reads (see the module's note)."""
    if "manifest.json" not in z.namelist():
        raise ImportRefused("This zip has no manifest.json: it is not a workspace export of this studio "
                            "(exports made before imports existed cannot be imported; export again).")
    m = read_json(z, "manifest.json")
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise ImportRefused("manifest.json does not describe a Dotoro workspace export.")
    version = m.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ImportRefused(f"manifest.json names no format version ({version!r}); export the workspace again.")
    if version > FORMAT_VERSION:
        raise ImportRefused(f"This export has format version {version}, made by a newer studio; this studio imports "
                            f"versions {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}. Update this studio, then import it.")
    if version < OLDEST_FORMAT_VERSION:
        raise ImportRefused(f"This export has format version {version}; this studio imports versions "
                            f"{OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}. Export it again from an up-to-date studio.")
    return m


def load_rows(z: zipfile.ZipFile, m: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows, checked against the manifest's counts; tables newer than the archive are empty."""
    counts = m.get("counts") or {}
    version = int(m["format_version"])
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, file in TABLE_FILES.items():
        if SINCE.get(name, OLDEST_FORMAT_VERSION) > version and f"{file}.json" not in z.namelist():
            rows[name] = []  # an older archive: this part did not exist yet
            continue
        data = read_json(z, f"{file}.json")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ImportRefused(f"{file}.json does not hold rows; the archive was changed.")
        if counts.get(name) != len(data):
            raise ImportRefused(f"{file}.json holds {len(data):,} rows but the manifest counts {counts.get(name)!r}; "
                                "the archive was changed or is incomplete.")
        rows[name] = data
    if len(rows["workspaces"]) != 1:
        raise ImportRefused("workspace.json must describe exactly one workspace.")
    return rows


__all__ = ["UUID_RE", "ImportRefused", "load_rows", "manifest", "open_archive", "read_json"]
