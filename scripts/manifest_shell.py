"""Print functions/manifest.yaml as shell-friendly lines for deploy.sh (no YAML parser needed in bash).

Lines: `function NAME SOURCE ENTRY PUBLIC TIMEOUT SECRETS(comma) QUEUES(comma)`, `queue NAME k=v ...`,
`secret ENV_NAME`.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

data = yaml.safe_load((Path(__file__).resolve().parent.parent / "functions" / "manifest.yaml").read_text())
secrets: list[str] = []
for f in data["functions"]:
    print("function", f["name"], f["source"], f["entry_point"], "public" if f["public"] else "private",
          f.get("timeout", 60), ",".join(f.get("secrets", [])) or "-", ",".join(f.get("queues", [])) or "-")
    secrets += [s for s in f.get("secrets", []) if s not in secrets]
for name, cfg in data["queues"].items():
    print("queue", name, " ".join(f"{k}={v}" for k, v in cfg.items()))
for s in secrets:
    print("secret", s)
sys.exit(0)
