"""The function manifest (functions/manifest.yaml) and URLs of deployed or local functions."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mam.runtime import function_url_override
from mam.settings import settings

# deploy.sh copies the manifest next to the package in each staged function; in the repo it sits one level up.
_CANDIDATES = (Path(__file__).with_name("manifest.yaml"), Path(__file__).parent.parent / "manifest.yaml")


@dataclass(frozen=True)
class FunctionSpec:
    """One deployable function."""

    name: str
    source: str
    entry_point: str
    public: bool
    secrets: tuple[str, ...]
    queues: tuple[str, ...]
    port: int
    timeout: int


@lru_cache(maxsize=1)
def load_raw() -> dict[str, Any]:
    """The manifest as parsed YAML."""
    import yaml

    for path in _CANDIDATES:
        if path.exists():
            return yaml.safe_load(path.read_text())
    raise FileNotFoundError("functions/manifest.yaml not found")


def functions() -> list[FunctionSpec]:
    """Every function of the manifest, in order."""
    return [FunctionSpec(name=f["name"], source=f["source"], entry_point=f["entry_point"], public=bool(f["public"]),
                         secrets=tuple(f.get("secrets", ())), queues=tuple(f.get("queues", ())), port=int(f["port"]),
                         timeout=int(f.get("timeout", 60)))
            for f in load_raw()["functions"]]


def function(name: str) -> FunctionSpec:
    """One function by name (KeyError if unknown)."""
    for spec in functions():
        if spec.name == name:
            return spec
    raise KeyError(name)


def function_url(name: str) -> str:
    """Where function `name` answers: FUNCTION_URL_<NAME> if set (local runner, tests), else FUNCTIONS_BASE_URL/<name>."""
    override = function_url_override(name)
    if override:
        return override.rstrip("/")
    base = settings("core").core.functions_base_url.rstrip("/")
    if not base:
        raise RuntimeError(f"no URL for function {name}: set FUNCTIONS_BASE_URL")
    return f"{base}/{name}"
