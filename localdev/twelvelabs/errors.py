"""The error answer of the local Twelve Labs: {"code", "message"} with an HTTP status."""
from __future__ import annotations


class ApiError(Exception):
    """An error answer in Twelve Labs' shape: {"code", "message"}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
