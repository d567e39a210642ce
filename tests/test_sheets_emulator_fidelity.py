"""Replay gspread's recorded real-API traffic against the emulator and compare the answers.

Each cassette in ``../shared/google-sheets-recordings/`` (vcrpy JSON) is replayed in order against a fresh
emulator (auth off: the recordings hide tokens). Ids the real API chose (spreadsheet, sheet, chart ids) are
mapped to the emulator's as they appear in responses, and mapped back in later requests.

Compared: status code, and the JSON body after normalisation. Out of scope, so removed before comparing:
``spreadsheetTheme`` (Google's theme palette), Drive ``createdTime``/``modifiedTime``, error ``message``
and ``details`` (only ``code`` and ``status`` are compared). Skipped (outside the subset): requests the
emulator answers 501 (Drive export/copy/comments/upload, batchUpdate kinds it does not implement).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from sheetcrm.testing import SheetsEmulator

RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "google-sheets-recordings"
ID_KEYS = {"spreadsheetId", "sheetId", "chartId", "id"}
DROPPED = {"spreadsheetTheme", "createdTime", "modifiedTime"}
MATCHED_FLOOR = 1576  # what the emulator achieves (of 1867 compared); a drop is a regression


@dataclass
class Stats:
    matched: int = 0
    compared: int = 0
    skipped: int = 0
    mismatches: list[str] = field(default_factory=list)
    by_endpoint: Counter[str] = field(default_factory=Counter)


def endpoint(method: str, path: str) -> str:
    path = re.sub(r"spreadsheets/[^/:]+", "spreadsheets/ID", path)
    path = re.sub(r"files/[^/?]+", "files/ID", path)
    path = re.sub(r"values/[^/:]+", "values/R", path)
    return f"{method} {path}"


def normalise(value: Any, ids: dict[Any, Any]) -> Any:
    if isinstance(value, dict):
        if "error" in value and isinstance(value["error"], dict):
            return {"error": {k: value["error"].get(k) for k in ("code", "status")}}
        return {k: (ids.get(v, v) if k in ID_KEYS else normalise(v, ids)) for k, v in value.items() if k not in DROPPED}
    if isinstance(value, list):
        return [normalise(v, ids) for v in value]
    if isinstance(value, str):
        for old, new in ids.items():
            if isinstance(old, str) and old in value:
                value = value.replace(old, new)
    return value


def learn_ids(recorded: Any, actual: Any, ids: dict[Any, Any]) -> None:
    """Walk both answers side by side; where the real API chose an id, remember the emulator's."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for k, v in recorded.items():
            if k in ID_KEYS and k in actual and v not in ids and not isinstance(v, bool):
                ids[v] = actual[k]
            elif k in actual:
                learn_ids(v, actual[k], ids)
    elif isinstance(recorded, list) and isinstance(actual, list):
        for r, a in zip(recorded, actual, strict=False):
            learn_ids(r, a, ids)


def rewrite_request(value: Any, ids: dict[Any, Any]) -> Any:
    if isinstance(value, dict):
        return {
            k: (ids.get(v, v) if k in ID_KEYS and not isinstance(v, bool) else rewrite_request(v, ids))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [rewrite_request(v, ids) for v in value]
    return value


def replay(cassette: Path, stats: Stats) -> None:
    import requests

    interactions = json.loads(cassette.read_text(encoding="utf-8"))["interactions"]
    with SheetsEmulator(require_auth=False) as emu, requests.Session() as http:
        ids: dict[Any, Any] = {}
        for item in interactions:
            req, res = item["request"], item["response"]
            parts = urlsplit(req["uri"])
            path = parts.path
            query = parts.query
            for old, new in ids.items():
                if isinstance(old, str):
                    path = path.replace(old, new).replace(quote(old), new)
                    query = query.replace(old, new)
            body = req["body"]
            data = None
            if body:
                try:
                    data = json.dumps(rewrite_request(json.loads(body), ids)).encode()
                except ValueError:
                    data = body.encode()
            url = emu.base_url + path + (f"?{query}" if query else "")
            got = http.request(req["method"], url, data=data, headers={"Content-Type": "application/json"}, timeout=30)
            name = endpoint(req["method"], path)
            if got.status_code == 501:
                stats.skipped += 1
                continue
            recorded_text = res["body"]["string"]
            recorded = json.loads(recorded_text) if recorded_text.strip() else None
            actual = got.json() if got.content.strip() else None
            if recorded is not None and actual is not None and got.status_code == res["status"]["code"] < 400:
                learn_ids(recorded, actual, ids)
            stats.compared += 1
            inverse_free = normalise(recorded, ids)
            if got.status_code == res["status"]["code"] and normalise(actual, {}) == inverse_free:
                stats.matched += 1
                stats.by_endpoint[name + " ok"] += 1
            else:
                stats.by_endpoint[name + " MISMATCH"] += 1
                stats.mismatches.append(
                    f"{cassette.name}: {req['method']} {req['uri'][:160]}\n  body: {(body or '')[:300]}\n"
                    f"  recorded {res['status']['code']}: {json.dumps(inverse_free)[:600]}\n"
                    f"  emulator {got.status_code}: {json.dumps(normalise(actual, {}))[:600]}"
                )


@pytest.mark.skipif(
    not RECORDINGS.is_dir(), reason=f"recordings not found at {RECORDINGS} (CI keeps them in ../shared)"
)
def test_replay_recordings(capsys: pytest.CaptureFixture[str]) -> None:
    stats = Stats()
    for cassette in sorted(RECORDINGS.glob("*.json")):
        replay(cassette, stats)
    with capsys.disabled():
        print(
            f"\nfidelity: matched {stats.matched} / compared {stats.compared}; skipped (outside subset) {stats.skipped}"
        )
    assert stats.matched >= MATCHED_FLOOR, "\n".join(stats.mismatches[:20])
