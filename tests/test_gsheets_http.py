"""SheetsHttpClient: retries, timeouts and error translation, over real HTTP against the Sheets emulator.

Unmodified gspread and google-auth talk to the emulator; only time is injected (a fake clock that
advances by what is slept), so backoff is checked exactly and the tests stay fast.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gspread
import pytest
from conftest import free_port
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2.service_account import Credentials

from sheetcrm.errors import InputError, SheetcrmError
from sheetcrm.sync.gsheets.auth import ENV_VAR, account_email, load_credentials
from sheetcrm.sync.gsheets.http import (
    AccessDenied,
    AuthenticationFailed,
    GoogleUnavailable,
    QuotaExceeded,
    RetryPolicy,
    SheetsHttpClient,
    SpreadsheetNotFound,
    WriteOutcomeUnknown,
    _retry_after,
    api_method,
    is_idempotent,
)
from sheetcrm.testing import SheetsEmulator, emulated_session
from sheetcrm.testing.sheets_emulator import ApiError

EMAIL = "sheetcrm-test@emulator.iam.gserviceaccount.com"
ROWS = [["customer_id", "name", "tier"], ["C-1", "Ann", "VIP"], ["C-2", "Bob", "Key"]]
SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"
DRIVE = "https://www.googleapis.com/drive/v3/files"


@dataclass
class FakeTime:
    """A clock that moves only when slept on, and remembers every sleep."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def creds(google_key: Path) -> Credentials:
    return load_credentials(None, environ={ENV_VAR: str(google_key)})


@pytest.fixture
def sid(emu: SheetsEmulator) -> str:
    return emu.create_spreadsheet("CRM", sheets={"Customers": ROWS})


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@contextmanager
def connected(
    base_url: str, creds: Credentials, fake: FakeTime, **options: Any
) -> Iterator[tuple[gspread.Client, SheetsHttpClient]]:
    """A gspread client whose every call goes through a SheetsHttpClient, to ``base_url``."""
    with emulated_session(creds, base_url) as session:
        gc = gspread.Client(creds, session=session)
        http = SheetsHttpClient(
            creds, session, sleep=fake.sleep, clock=fake.clock, account_email=account_email(creds), **options
        )
        gc.http_client = http
        yield gc, http


def private_key_lines(key_file: Path) -> list[str]:
    pem = json.loads(key_file.read_text())["private_key"]
    return [line for line in pem.splitlines() if line and "-----" not in line]


def assert_no_secrets(error: BaseException, secrets: list[str], log_text: str) -> None:
    texts = [log_text]
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    for secret in secrets:
        assert secret
        for text in texts:
            assert secret not in text


# --------------------------------------------------------------------------- names and idempotency


@pytest.mark.parametrize(
    ("method", "url", "name"),
    [
        ("GET", f"{SHEETS}/KEY", "spreadsheets.get"),
        ("POST", SHEETS, "spreadsheets.create"),
        ("POST", f"{SHEETS}/KEY:batchUpdate", "spreadsheets.batchUpdate"),
        ("GET", f"{SHEETS}/KEY/values/%27Customers%27%21A1%3AC3", "values.get"),
        ("GET", f"{SHEETS}/KEY/values/Customers!A1:C3", "values.get"),
        ("PUT", f"{SHEETS}/KEY/values/%27Customers%27%21A1", "values.update"),
        ("POST", f"{SHEETS}/KEY/values/%27Customers%27:append", "values.append"),
        ("POST", f"{SHEETS}/KEY/values/Customers!A1:B2:clear", "values.clear"),
        ("GET", f"{SHEETS}/KEY/values:batchGet", "values.batchGet"),
        ("POST", f"{SHEETS}/KEY/values:batchUpdate", "values.batchUpdate"),
        ("POST", f"{SHEETS}/KEY/values:batchClear", "values.batchClear"),
        ("POST", f"{SHEETS}/KEY/sheets/0:copyTo", "sheets.copyTo"),
        ("GET", DRIVE, "drive.files.list"),
        ("POST", DRIVE, "drive.files.create"),
        ("GET", f"{DRIVE}/KEY", "drive.files.get"),
        ("DELETE", f"{DRIVE}/KEY", "drive.files.delete"),
        ("POST", f"{DRIVE}/KEY/copy", "drive.files.copy"),
        ("POST", f"{DRIVE}/KEY/permissions", "drive.permissions.create"),
        ("GET", f"{DRIVE}/KEY/permissions", "drive.permissions.list"),
        ("DELETE", f"{DRIVE}/KEY/permissions/P1", "drive.permissions.delete"),
        ("PUT", "https://www.googleapis.com/upload/drive/v2/files/KEY", "drive.files.update"),
        ("GET", "http://127.0.0.1:8080/v4/spreadsheets/KEY", "spreadsheets.get"),  # a configured endpoint
    ],
)
def test_api_method_names(method: str, url: str, name: str) -> None:
    assert api_method(method, url) == name


@pytest.mark.parametrize(
    ("method", "url", "body", "repeatable"),
    [
        ("GET", f"{SHEETS}/KEY/values:batchGet", None, True),
        ("PUT", f"{SHEETS}/KEY/values/A1", {"values": [[1]]}, True),
        ("POST", f"{SHEETS}/KEY/values:batchUpdate", {"data": []}, True),
        ("POST", f"{SHEETS}/KEY/values/A1:clear", None, True),
        ("POST", f"{SHEETS}/KEY/values:batchClear", {"ranges": ["A1"]}, True),
        ("POST", f"{SHEETS}/KEY/values/A1:append", {"values": [[1]]}, False),
        ("POST", f"{SHEETS}/KEY:batchUpdate", {"requests": [{"repeatCell": {}}, {"updateCells": {}}]}, True),
        ("POST", f"{SHEETS}/KEY:batchUpdate", {"requests": [{"repeatCell": {}}, {"addSheet": {}}]}, False),
        ("POST", f"{SHEETS}/KEY:batchUpdate", {"requests": [{"insertDimension": {}}]}, False),
        ("POST", f"{SHEETS}/KEY:batchUpdate", {"requests": [{"deleteDimension": {}}]}, False),
        ("POST", f"{SHEETS}/KEY:batchUpdate", None, False),
        ("POST", SHEETS, {"properties": {"title": "CRM"}}, False),
        ("POST", DRIVE, {"name": "CRM"}, False),
    ],
)
def test_which_calls_are_safe_to_repeat(method: str, url: str, body: dict[str, Any] | None, repeatable: bool) -> None:
    assert is_idempotent(method, url, body) is repeatable


# --------------------------------------------------------------------------- backoff


def test_full_jitter_stays_under_a_growing_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=32.0)
    rng = random.Random(2024)
    caps = [policy.backoff_cap(n) for n in range(8)]
    assert caps == [1, 2, 4, 8, 16, 32, 32, 32]
    means = []
    for retry, cap in enumerate(caps):
        draws = [policy.delay(retry, rng) for _ in range(2000)]
        assert all(0.0 <= d <= cap for d in draws)
        assert max(draws) > 0.95 * cap and min(draws) < 0.05 * cap  # full jitter: the whole [0, cap]
        means.append(sum(draws) / len(draws))
    assert all(later > earlier for earlier, later in itertools.pairwise(means[:6]))
    # Retry-After is a floor, and a random.random-like function works as well as a Random
    assert policy.delay(0, random.Random(1), retry_after=5.0) == 5.0
    assert policy.delay(3, lambda: 0.5) == 4.0


def test_retry_after_header_forms() -> None:
    assert _retry_after("7") == 7.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (_retry_after(future) or 0) <= 31
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait


def test_seeded_jitter_against_the_emulator(emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime) -> None:
    emu.faults.rate_limit_every = 1
    emu.faults.retry_after = 0  # "Retry-After: 0": the jitter alone decides
    policy = RetryPolicy(attempts=5)
    with (
        connected(emu.base_url, creds, fake, policy=policy, rng=random.Random(99)) as (gc, http),
        pytest.raises(QuotaExceeded),
    ):
        gc.open_by_key(sid)
    replay = random.Random(99)
    assert fake.slept == [policy.delay(n, replay) for n in range(4)]
    assert all(0 <= s <= policy.backoff_cap(n) for n, s in enumerate(fake.slept))
    assert http.calls == {"spreadsheets.get": 5}


# --------------------------------------------------------------------------- 429


def test_a_429_on_every_third_call_is_ridden_out(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sheetcrm.google")
    emu.faults.rate_limit_every = 3
    emu.faults.retry_after = 2
    with connected(emu.base_url, creds, fake) as (gc, http):
        sh = gc.open_by_key(sid)  # call 1
        ws = sh.worksheet("Customers")  # 2
        assert ws.get_all_values() == ROWS  # 3 is a 429, 4
        ws.update([["Key"]], "C2")  # 5
        ws.append_row(["C-3", "Cy", "Standard"])  # 6 is a 429 (nothing applied), 7
        ws.batch_update([{"range": "B3", "values": [["Bea"]]}])  # 8
        got = sh.values_batch_get(["Customers!A1:C4"])  # 9 is a 429, 10
    assert got["valueRanges"][0]["values"][3] == ["C-3", "Cy", "Standard"]
    assert emu.values(sid, "Customers") == [
        *ROWS[:1],
        ["C-1", "Ann", "Key"],
        ["C-2", "Bea", "Key"],
        ["C-3", "Cy", "Standard"],
    ]
    assert http.calls == {
        "spreadsheets.get": 2,
        "values.get": 2,
        "values.update": 1,
        "values.append": 2,
        "values.batchUpdate": 1,
        "values.batchGet": 2,
    }
    assert http.calls_total == len(emu.api_calls) == 10
    assert http.retries == 3
    assert len(fake.slept) == 3 and all(s >= 2 for s in fake.slept)  # Retry-After honoured
    lines = [r.getMessage() for r in caplog.records if r.name == "sheetcrm.google"]
    assert len(lines) == 3
    assert re.fullmatch(
        r"retrying values\.append after 429 RESOURCE_EXHAUSTED \(attempt 2 of 6\): sleeping \d+\.\d\d s", lines[1]
    )
    assert not any("http" in line or "Cy" in line or sid in line for line in lines)  # no URLs, no data


def test_permanent_429_gives_up_within_the_cap(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime
) -> None:
    emu.faults.rate_limit_every = 1
    emu.faults.retry_after = 7
    with (
        connected(emu.base_url, creds, fake, source=f"gsheets://{sid}") as (gc, http),
        pytest.raises(QuotaExceeded) as caught,
    ):
        gc.open_by_key(sid)
    policy = RetryPolicy()
    assert http.calls == {"spreadsheets.get": policy.attempts}
    assert len(fake.slept) == policy.attempts - 1
    assert all(s >= 7 for s in fake.slept)
    assert sum(fake.slept) <= policy.total_seconds
    error = caught.value
    assert str(error).startswith(
        f"gsheets://{sid}: Google Sheets answered 429 (quota exceeded) 6 times over {sum(fake.slept):.0f} seconds"
    )
    assert error.hint is not None and "60 requests per minute" in error.hint
    assert error.exit_code == 2 and error.method == "spreadsheets.get" and error.status == 429


def test_retry_after_past_the_cap_gives_up_at_once(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime
) -> None:
    emu.faults.rate_limit_every = 1
    emu.faults.retry_after = 40  # 40 + 40 fit in 100 seconds, a third wait would not
    with (
        connected(emu.base_url, creds, fake) as (gc, http),
        pytest.raises(QuotaExceeded, match="3 times over 80 seconds"),
    ):
        gc.open_by_key(sid)
    assert fake.slept == [40.0, 40.0]
    assert http.calls_total == 3


# --------------------------------------------------------------------------- 503 after the write was applied


def test_an_idempotent_write_is_retried_and_lands_once(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime
) -> None:
    with connected(emu.base_url, creds, fake) as (gc, http):
        ws = gc.open_by_key(sid).worksheet("Customers")
        emu.faults.fail_after_writes = 1  # applied, then answered 503
        ws.batch_update([{"range": "A4:C4", "values": [["C-3", "Cy", "Standard"]]}])
    assert http.calls["values.batchUpdate"] == 2 and http.retries == 1
    assert emu.values(sid, "Customers") == [*ROWS, ["C-3", "Cy", "Standard"]]


def test_an_append_is_not_retried_after_a_503(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime
) -> None:
    with connected(emu.base_url, creds, fake) as (gc, http):
        ws = gc.open_by_key(sid).worksheet("Customers")
        emu.faults.fail_after_writes = 1
        with pytest.raises(WriteOutcomeUnknown) as caught:
            ws.append_row(["C-3", "Cy", "Standard"])
    assert http.calls["values.append"] == 1 and http.retries == 0 and fake.slept == []
    assert emu.values(sid, "Customers") == [*ROWS, ["C-3", "Cy", "Standard"]]  # exactly once
    error = caught.value
    assert error.exit_code == 3 and error.method == "values.append" and error.status == 503
    assert "values.append failed after it was sent (503 UNAVAILABLE)" in error.message
    assert "may or may not have applied" in error.message
    assert error.hint is not None and "running the command again is safe" in error.hint


def test_batch_update_is_retried_only_when_every_request_is_idempotent(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime
) -> None:
    bold = {
        "repeatCell": {
            "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
            "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
            "fields": "userEnteredFormat.textFormat.bold",
        }
    }
    with connected(emu.base_url, creds, fake) as (gc, http):
        sh = gc.open_by_key(sid)
        emu.faults.fail_after_writes = 1
        sh.batch_update({"requests": [bold]})
        assert http.calls["spreadsheets.batchUpdate"] == 2
        emu.faults.fail_after_writes = 1
        with pytest.raises(WriteOutcomeUnknown, match=r"spreadsheets\.batchUpdate"):
            sh.batch_update({"requests": [bold, {"addSheet": {"properties": {"title": "Notes"}}}]})
    assert http.calls["spreadsheets.batchUpdate"] == 3
    assert [s.title for s in emu.spreadsheet(sid).sheets] == ["Customers", "Notes"]  # added once


def test_drive_create_is_not_retried(emu: SheetsEmulator, creds: Credentials, fake: FakeTime) -> None:
    with connected(emu.base_url, creds, fake) as (gc, http):
        emu.faults.fail_after_writes = 1
        with pytest.raises(WriteOutcomeUnknown, match=r"drive\.files\.create"):
            gc.create("New CRM")
        assert [f["name"] for f in gc.list_spreadsheet_files()] == ["New CRM"]
    assert http.calls == {"drive.files.create": 1, "drive.files.list": 1}


def test_the_caller_can_force_the_decision(emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime) -> None:
    with connected(emu.base_url, creds, fake) as (gc, http):
        ws = gc.open_by_key(sid).worksheet("Customers")
        emu.faults.fail_after_writes = 1
        with http.idempotent(False), pytest.raises(WriteOutcomeUnknown, match=r"values\.update"):
            ws.update([["x"]], "D1")
        emu.faults.fail_after_writes = 1
        with http.idempotent(True):  # the caller vouches for it (here wrongly: the row lands twice)
            ws.append_row(["C-3"])
        emu.faults.fail_after_writes = 1
        ws.update([["y"]], "D1")  # outside the block: the usual decision again, retried
    assert http.calls["values.update"] == 3 and http.calls["values.append"] == 2
    assert [row[0] for row in emu.values(sid, "Customers")[3:]] == ["C-3", "C-3"]


# --------------------------------------------------------------------------- 401, 403, 404


def test_403_names_the_service_account_and_how_to_share(
    emu: SheetsEmulator,
    creds: Credentials,
    google_key: Path,
    sid: str,
    fake: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def forbid(_: SheetsEmulator) -> None:
        raise ApiError(403, "The caller does not have permission")

    with connected(emu.base_url, creds, fake, source=f"gsheets://{sid}") as (gc, http):
        emu.on_next_call(forbid)
        with pytest.raises(AccessDenied) as caught:
            gc.open_by_key(sid)
    error = caught.value
    assert isinstance(error, InputError) and error.exit_code == 2 and error.status == 403
    assert error.message == f"gsheets://{sid}: the service account {EMAIL} may not read/write this spreadsheet"
    assert error.hint == f"share the spreadsheet with {EMAIL} (Editor to let sheetcrm write)"
    assert http.calls_total == 1  # a 403 is not retried
    assert creds.token
    assert_no_secrets(error, [creds.token, *private_key_lines(google_key)], caplog.text)


def test_403_api_disabled_says_to_enable_it(emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime) -> None:
    def disabled(_: SheetsEmulator) -> None:
        raise ApiError(
            403,
            "Google Sheets API has not been used in project 123456 before or it is disabled. Enable it by "
            "visiting https://console.developers.google.com/apis/api/sheets.googleapis.com/overview?project=123456 "
            "then retry.",
        )

    with connected(emu.base_url, creds, fake) as (gc, _):
        emu.on_next_call(disabled)
        with pytest.raises(AccessDenied) as caught:
            gc.open_by_key(sid)
    assert "not enabled in the Cloud project of the service account " + EMAIL in caught.value.message
    assert "project=123456" in caught.value.message
    assert (
        caught.value.hint is not None and "enable the Google Sheets API and the Google Drive API" in caught.value.hint
    )


class ReasonedError(ApiError):
    """An error whose body also lists a reason, as Drive answers: ``"errors": [{"reason": ...}]``."""

    def __init__(self, code: int, message: str, reason: str) -> None:
        super().__init__(code, message)
        self.reason = reason

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["errors"] = [{"domain": "usageLimits", "reason": self.reason, "message": self.message}]
        return body


def test_a_403_rate_limit_is_retried_like_a_429(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime
) -> None:
    def slow_down(_: SheetsEmulator) -> None:
        raise ReasonedError(403, "User Rate Limit Exceeded", "userRateLimitExceeded")

    with connected(emu.base_url, creds, fake) as (gc, http):
        emu.on_next_call(slow_down)
        assert gc.open_by_key(sid).sheet1.get_all_values() == ROWS
    assert http.retries == 1 and http.calls["spreadsheets.get"] == 3  # open, sheet1, and the retry


def test_no_drive_storage_for_the_service_account(emu: SheetsEmulator, creds: Credentials, fake: FakeTime) -> None:
    def no_storage(_: SheetsEmulator) -> None:
        raise ReasonedError(403, "The user's Drive storage quota has been exceeded.", "storageQuotaExceeded")

    with connected(emu.base_url, creds, fake) as (gc, _):
        emu.on_next_call(no_storage)
        with pytest.raises(AccessDenied) as caught:
            gc.create("New CRM")
    assert (
        caught.value.message
        == f"Google Sheets: the service account {EMAIL} has no Drive storage to create a spreadsheet in (drive.files.create)"
    )
    assert caught.value.hint is not None and caught.value.hint.startswith(
        "create the spreadsheet yourself, share it with " + EMAIL
    )


def test_404_says_check_the_key(emu: SheetsEmulator, creds: Credentials, fake: FakeTime) -> None:
    missing = "1NoSuchSpreadsheet0000000000000000000000000"
    with connected(emu.base_url, creds, fake) as (gc, http), pytest.raises(SpreadsheetNotFound) as caught:
        gc.open_by_key(missing)
    error = caught.value
    assert isinstance(error, InputError) and error.status == 404
    assert error.message.startswith(f"{missing}: no spreadsheet with that key")
    assert error.hint is not None and "between /d/ and /edit" in error.hint and EMAIL in error.hint
    assert http.calls_total == 1


def test_401_that_a_fresh_token_does_not_cure(
    emu: SheetsEmulator,
    creds: Credentials,
    google_key: Path,
    sid: str,
    fake: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def refuse(e: SheetsEmulator) -> None:
        e.on_next_call(refuse)  # every call from now on
        raise ApiError(401, "Request had invalid authentication credentials.")

    with connected(emu.base_url, creds, fake) as (gc, http):
        emu.on_next_call(refuse)
        with pytest.raises(AuthenticationFailed) as caught:
            gc.open_by_key(sid)
    error = caught.value
    assert (
        error.message == f"{sid}: Google refused the credentials of the service account {EMAIL} (401 UNAUTHENTICATED)"
    )
    assert error.hint is not None and "revoked" in error.hint and EMAIL in error.hint
    assert http.calls_total == 1  # google-auth refreshed the token itself; we do not retry on top
    assert_no_secrets(error, [str(creds.token), *private_key_lines(google_key)], caplog.text)


def test_a_revoked_key_fails_at_token_refresh(
    emu: SheetsEmulator,
    creds: Credentials,
    google_key: Path,
    sid: str,
    fake: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with connected(emu.base_url, creds, fake) as (gc, http):
        sh = gc.open_by_key(sid)
        old_token = str(creds.token)
        with emu.lock:  # the key is deleted in the Cloud console: its tokens die, new ones are refused
            emu.public_keys = {
                "another-key": rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
            }
            emu.tokens.clear()
        with pytest.raises(AuthenticationFailed) as caught:
            sh.worksheet("Customers").get_all_values()
    error = caught.value
    assert "Google refused the key of the service account " + EMAIL in error.message
    assert "invalid_grant" in error.message
    assert error.hint is not None and "create a new JSON key" in error.hint
    assert error.__cause__ is None and error.__context__ is None  # nothing from google-auth chained
    assert http.retries == 0
    assert_no_secrets(error, [old_token, *private_key_lines(google_key)], caplog.text)


# --------------------------------------------------------------------------- network failures


def test_connection_refused_is_retried_even_for_an_append(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime
) -> None:
    with connected(emu.base_url, creds, fake) as (gc, _):
        gc.open_by_key(sid)  # the token is fetched from the emulator; nothing listens below
    dead = f"http://127.0.0.1:{free_port()}"
    with connected(dead, creds, fake) as (_, http), pytest.raises(GoogleUnavailable) as caught:
        http.values_append(sid, "Customers", params={"valueInputOption": "RAW"}, body={"values": [["C-9"]]})
    assert http.calls == {"values.append": 6} and http.retries == 5  # nothing was sent: safe to retry
    assert "sheets.googleapis.com: connection refused (6 tries over" in caught.value.message
    assert "C-9" not in str(caught.value) and "127.0.0.1" not in str(caught.value)
    assert emu.values(sid, "Customers") == ROWS


def test_token_endpoint_unreachable_is_retried_then_unavailable(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime
) -> None:
    base_url = emu.base_url
    emu.stop()  # the key's token_uri is the emulator's own /token: now nothing answers there
    with (
        connected(base_url, creds, fake) as (gc, http),
        pytest.raises(GoogleUnavailable, match="cannot reach Google to refresh the access token"),
    ):
        gc.open_by_key(sid)
    assert http.calls_total == 6


def test_read_timeout_retries_reads_but_not_appends(
    emu: SheetsEmulator, creds: Credentials, sid: str, fake: FakeTime
) -> None:
    policy = RetryPolicy(attempts=3, read_timeout=0.05)
    with connected(emu.base_url, creds, fake, policy=policy) as (gc, http):
        ws = gc.open_by_key(sid).worksheet("Customers")
        emu.faults.latency = 0.3
        started = time.monotonic()
        with pytest.raises(GoogleUnavailable, match=r"no answer within 0\.05 s \(3 tries"):
            ws.get_all_values()
        assert time.monotonic() - started < 2
        assert http.calls["values.get"] == 3
        with pytest.raises(WriteOutcomeUnknown, match=r"values\.append failed after it was sent \(no answer"):
            ws.append_row(["C-3", "Cy", "Standard"])
        assert http.calls["values.append"] == 1
    deadline = time.monotonic() + 5  # the emulator applies the append after its latency
    while len(emu.values(sid, "Customers")) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    emu.faults.latency = 0
    assert emu.values(sid, "Customers") == [*ROWS, ["C-3", "Cy", "Standard"]]


def test_errors_are_sheetcrm_errors_never_gspread_ones(emu: SheetsEmulator, creds: Credentials, fake: FakeTime) -> None:
    with connected(emu.base_url, creds, fake) as (gc, _), pytest.raises(SheetcrmError) as caught:
        gc.open_by_key("nope")
    assert not isinstance(caught.value, gspread.exceptions.GSpreadException)


def test_client_is_usable_as_gsprads_http_client_class(emu: SheetsEmulator, creds: Credentials, sid: str) -> None:
    """Passed as ``http_client=``, gspread builds it with (auth, session) and the defaults apply."""
    with emulated_session(creds, emu.base_url) as session:
        gc = gspread.Client(creds, session=session, http_client=SheetsHttpClient)
        assert gc.open_by_key(sid).sheet1.get_all_values() == ROWS
        http = gc.http_client
        assert isinstance(http, SheetsHttpClient)
        assert http.account_email == EMAIL and http.calls_total == 3
        assert gc.expiry is not None  # Client.expiry reads http_client.auth
