"""Local stand-in for the iconik API (files, assets, collections, jobs, custom actions); never deployed.

Start it with `python -m localdev.iconik --port 8860`; build it in-process with `create_app(config)`.
"""
from .app import create_app

__all__ = ["create_app"]
