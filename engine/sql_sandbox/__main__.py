"""``python -m engine.sql_sandbox request.json``: run the sandbox child by hand (the parent runs child.py)."""

from __future__ import annotations

from engine.sql_sandbox.child import main

main()
