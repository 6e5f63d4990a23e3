"""Errors a user can cause in the application layer; pages show their message as is."""

from __future__ import annotations

import logging


class StudioError(Exception):
    """Base of user-facing application errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class PermissionDenied(StudioError):
    """Every refusal is logged where it is raised (with the page, workspace and user bound for this run)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        logging.getLogger("studio.refused").warning("refused: %s", message,
                                                    extra={"event": "request.refused", "refused": "permission"})


class NotFound(StudioError):
    pass


class NoWorkspace(StudioError):
    """A tenant session was requested without a workspace: fail closed, before any SQL."""


class ValidationFailed(StudioError):
    pass


class AuthError(StudioError):
    pass
