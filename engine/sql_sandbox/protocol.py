"""Frames the sandbox child writes to its stdout: a kind byte, a 64-bit length, the payload."""

from __future__ import annotations

import struct
from typing import BinaryIO

READY = b"R"  # tables loaded and DuckDB locked down: the query clock starts now
ERROR = b"E"  # JSON {"message", "line", "column"}
RESULT = b"M"  # JSON {"total_rows", "truncated", "elapsed_s"}; an ARROW frame follows
ARROW = b"A"  # the result rows as an Arrow IPC stream

_HEADER = struct.Struct(">cQ")


def wire_limit(max_result_bytes: int) -> int:
    """The largest frame the parent accepts: the result cap plus room for Arrow's framing and padding."""
    return max_result_bytes + max_result_bytes // 4 + (1 << 20)


class FrameTooLarge(Exception):
    """A frame announced more bytes than the parent accepts; the child is not to be read further."""


def write_frame(stream: BinaryIO, kind: bytes, payload: bytes | memoryview = b"") -> None:
    """Write one frame and flush it so the parent sees it at once."""
    stream.write(_HEADER.pack(kind, len(payload)))
    stream.write(payload)
    stream.flush()


class FrameBuffer:
    """Collects bytes read from the child and hands back each complete frame."""

    def __init__(self, max_payload: int | None = None) -> None:
        self._data = bytearray()
        self.max_payload = max_payload

    def feed(self, data: bytes) -> None:
        """Append bytes just read from the pipe."""
        self._data += data

    def pop(self) -> tuple[bytes, bytes] | None:
        """The next complete (kind, payload), or None until more bytes arrive."""
        if len(self._data) < _HEADER.size:
            return None
        kind, length = _HEADER.unpack_from(self._data)
        if self.max_payload is not None and length > self.max_payload:
            raise FrameTooLarge(length)
        end = _HEADER.size + length
        if len(self._data) < end:
            return None
        payload = bytes(self._data[_HEADER.size:end])
        del self._data[:end]
        return kind, payload
