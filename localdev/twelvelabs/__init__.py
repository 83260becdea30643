"""Local stand-in for Twelve Labs API v1.3 (the subset our product uses), driven by the official SDK.

Start: `python -m localdev.twelvelabs --port 8850`; see README.md."""
from .app import create_app

__all__ = ["create_app"]
