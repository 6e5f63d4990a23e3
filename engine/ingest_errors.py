"""Errors raised while reading an uploaded file into a table."""

from __future__ import annotations

from engine.errors import EngineError


class IngestError(EngineError):
    """An uploaded file could not be turned into a table; the message says why and what to do."""


class NeedsSheetChoice(IngestError):
    """A workbook holds several sheets and the caller must pick one of ``sheets``."""

    def __init__(self, sheets: list[str]) -> None:
        names = ", ".join(f"'{name}'" for name in sheets)
        super().__init__(f"This workbook has {len(sheets)} sheets ({names}): choose the sheet to use.",
                         field="sheet")
        self.sheets = list(sheets)
