"""Structured logs redact secrets; task ids are deterministic and valid Cloud Tasks ids."""
from __future__ import annotations

import json
import re

from mam import log
from mam.tasks import task_id


def test_log_lines_are_json_with_severity_and_redacted(capsys):
    log.info("hello", video="v1", auth_token="abc", nested={"api_key": "k", "ok": 1})
    line = json.loads(capsys.readouterr().out.strip())
    assert line["severity"] == "INFO" and line["message"] == "hello" and line["video"] == "v1"
    assert line["auth_token"] == "[redacted]" and line["nested"] == {"api_key": "[redacted]", "ok": 1}


def test_task_ids_are_deterministic_hashed_and_valid():
    a = task_id("index", "follow", "video-1", 3)
    assert a == task_id("index", "follow", "video-1", 3)
    assert a != task_id("index", "follow", "video-1", 4)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,500}", a)
