"""The sandbox process's entry point: leave the network, forbid file writes, then serve one request.

The parent runs ``python -I -B child.py`` in a private directory, usually ahead of the query: the
child fences itself, imports DuckDB and pyarrow, then reads the path of its request (a JSON file
next to a Parquet copy of every table) from stdin and serves it. Only the standard library is imported at the top: a user
namespace can only be entered while the process has a single thread, and pyarrow starts threads.
The package ``__init__`` files are skipped: ``engine``'s pulls in polars, Jinja2 and the whole
generation stack, a second of start-up per query that the sandbox never uses.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import types
from pathlib import Path

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000


def isolate_network() -> bool:
    """Move this process into a new, empty network namespace; False where the kernel refuses."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    # Root may create a network namespace directly; anyone else needs a user namespace around it.
    return any(libc.unshare(flags) == 0 for flags in (_CLONE_NEWNET, _CLONE_NEWUSER | _CLONE_NEWNET))


def forbid_file_writes() -> None:
    """No core dumps and no file growth: the child only ever reads its Parquet copies."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def main() -> None:
    """Fence the process, then hand the request to ``serve``; frames go out on the original stdout."""
    isolate_network()
    forbid_file_writes()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints lands on stderr, never inside a frame
    _skip_package_inits()

    # Imported only now, once the process is fenced: see the module docstring.
    import pyarrow  # noqa: F401  (imported while the child waits: the answer needs it)

    from engine.sql_sandbox.serve import serve_file

    request = sys.stdin.readline().strip()
    if not request:  # the parent closed without a request (a spare at exit)
        os._exit(0)
    serve_file(Path(request), out)
    out.flush()
    os._exit(0)  # skip tearing DuckDB down: the process is done


def _skip_package_inits() -> None:
    """Make ``engine`` and ``engine.sql_sandbox`` importable without running their ``__init__``."""
    here = Path(__file__).resolve().parent
    for name, path in (("engine", here.parent), ("engine.sql_sandbox", here)):
        package = types.ModuleType(name)
        package.__path__ = [str(path)]
        sys.modules[name] = package


if __name__ == "__main__":
    main()
