"""The Google Sheets emulator, driven by unmodified gspread + google-auth over real HTTP on loopback."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import gspread
import pytest
import requests
from google.oauth2.service_account import Credentials

from sheetcrm.testing import SheetsEmulator, emulated_session, make_service_account_key
from sheetcrm.testing.sheets_emulator import _parse_range

SCOPES = ["https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive"]
HEADER = ["customer_id", "name", "tier"]
ROWS = [HEADER, ["C-1", "Ann", "VIP"], ["C-2", "Bob", "Key"]]


@pytest.fixture
def gc(emu: SheetsEmulator, tmp_path: Path) -> Iterator[gspread.Client]:
    key = make_service_account_key(tmp_path / "key.json", emu)
    creds = Credentials.from_service_account_file(str(key), scopes=SCOPES)  # type: ignore[no-untyped-call]
    with emulated_session(creds, emu.base_url) as session:
        yield gspread.Client(creds, session=session)


@pytest.fixture
def sid(emu: SheetsEmulator) -> str:
    return emu.create_spreadsheet("CRM", sheets={"Customers": ROWS, "Deals": [["deal_id"]]})


def api(emu: SheetsEmulator, method: str, path: str, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {emu.issue_token()}"}
    return requests.request(method, emu.base_url + path, headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def test_key_file_is_private_and_points_at_the_emulator(emu: SheetsEmulator, tmp_path: Path) -> None:
    key = make_service_account_key(tmp_path / "key.json", emu)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert emu.token_uri in key.read_text()


def test_open_and_read_through_gspread(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    book = gc.open_by_key(sid)
    assert [w.title for w in book.worksheets()] == ["Customers", "Deals"]
    assert book.worksheet("Customers").get_all_values() == ROWS
    # the token came from the emulator's /token, over HTTP
    assert ("POST", "/token") in emu.calls
    assert emu.calls.count(("POST", "/token")) == 1


def test_batch_get(gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Customers")
    got = ws.batch_get(["A1:B1", "B3:C3", "C:C"])
    assert [list(r) for r in got] == [[["customer_id", "name"]], [["Bob", "Key"]], [["tier"], ["VIP"], ["Key"]]]


def test_update_raw_and_user_entered(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Customers")
    ws.update([["00123", "TRUE", "2026-11-22"]], "A4:C4", value_input_option="RAW")
    assert ws.get("A4:C4", value_render_option="UNFORMATTED_VALUE") == [["00123", "TRUE", "2026-11-22"]]
    ws.update([["00123", "TRUE", "2026-11-22", "'007", "=1+2", "=A1"]], "A5", value_input_option="USER_ENTERED")
    assert ws.get("A5:F5", value_render_option="UNFORMATTED_VALUE") == [[123, True, 46348, "007", 3, "=A1"]]
    assert ws.get("A5:F5") == [["123", "TRUE", "2026-11-22", "007", "3", "=A1"]]
    assert ws.get("E5", value_render_option="FORMULA") == [["=1+2"]]
    assert emu.values(sid, "Customers")[3:] == [
        ["00123", "TRUE", "2026-11-22", "", "", ""],
        ["123", "TRUE", "2026-11-22", "007", "3", "=A1"],
    ]


def test_batch_update_append_and_clear(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Customers")
    ws.batch_update([{"range": "B2", "values": [["Anna"]]}, {"range": "C3", "values": [["VIP"]]}])
    ws.append_rows([["C-3", "Cy", "Standard"], ["C-4", "Di", "Key"]])
    values = emu.values(sid, "Customers")
    assert values[1:] == [
        ["C-1", "Anna", "VIP"],
        ["C-2", "Bob", "VIP"],
        ["C-3", "Cy", "Standard"],
        ["C-4", "Di", "Key"],
    ]
    ws.batch_clear(["A5:C5"])
    assert len(emu.values(sid, "Customers")) == 4
    ws.clear()
    assert emu.values(sid, "Customers") == []


def test_append_insert_rows_shifts_what_is_below(emu: SheetsEmulator, sid: str) -> None:
    emu.set_value(sid, "Customers", "A10", "footer")
    r = api(
        emu,
        "POST",
        f"/v4/spreadsheets/{sid}/values/Customers!A1:C3:append",
        params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
        json={"values": [["C-3"]]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["tableRange"] == "Customers!A1:C3"
    assert r.json()["updates"]["updatedRange"] == "Customers!A4"
    assert emu.values(sid, "Customers")[10] == ["footer", "", ""]


def test_spreadsheet_batch_update_requests(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    book = gc.open_by_key(sid)
    customers = book.worksheet("Customers")
    reply = book.batch_update(
        {
            "requests": [
                {"addSheet": {"properties": {"title": "Lists", "gridProperties": {"rowCount": 10, "columnCount": 2}}}},
                {
                    "deleteDimension": {
                        "range": {"sheetId": customers.id, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}
                    }
                },
                {
                    "setDataValidation": {
                        "range": {
                            "sheetId": customers.id,
                            "startRowIndex": 1,
                            "startColumnIndex": 2,
                            "endColumnIndex": 3,
                        },
                        "rule": {
                            "condition": {
                                "type": "ONE_OF_LIST",
                                "values": [{"userEnteredValue": "VIP"}, {"userEnteredValue": "Key"}],
                            },
                            "strict": True,
                        },
                    }
                },
                {
                    "repeatCell": {
                        "range": {"sheetId": customers.id, "startRowIndex": 0, "endRowIndex": 1},
                        "cell": {
                            "userEnteredFormat": {"backgroundColor": {"red": 1, "green": 0.9, "blue": 0.6}},
                            "note": "header",
                        },
                        "fields": "userEnteredFormat.backgroundColor,note",
                    }
                },
                {
                    "updateSheetProperties": {
                        "properties": {"sheetId": customers.id, "gridProperties": {"frozenRowCount": 1}},
                        "fields": "gridProperties.frozenRowCount",
                    }
                },
                {"addChart": {"chart": {"spec": {"title": "Tiers"}, "position": {"newSheet": True}}}},
            ]
        }
    )
    assert reply["replies"][0]["addSheet"]["properties"]["title"] == "Lists"
    assert reply["replies"][1:5] == [{}, {}, {}, {}]
    assert "chartId" in reply["replies"][5]["addChart"]["chart"]
    assert emu.values(sid, "Customers") == [HEADER, ["C-2", "Bob", "Key"]]
    sheet = emu.sheet(sid, "Customers")
    assert sheet.frozen_row_count == 1
    assert sheet.validations[0]["rule"]["condition"]["type"] == "ONE_OF_LIST"
    assert sheet.cells[(0, 0)].format == {"backgroundColor": {"red": 1, "green": 0.9, "blue": 0.6}}
    assert sheet.cells[(0, 2)].note == "header"
    assert [w.title for w in gc.open_by_key(sid).worksheets()] == ["Customers", "Deals", "Lists"]
    assert customers.get_note("A1") == "header"
    assert gc.open_by_key(sid).worksheet("Customers").frozen_row_count == 1


def test_unknown_batch_update_request_is_501_and_changes_nothing(emu: SheetsEmulator, sid: str) -> None:
    body = {"requests": [{"addSheet": {"properties": {"title": "X"}}}, {"addBanding": {}}]}
    r = api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", json=body)
    assert r.status_code == 501
    assert "addBanding" in r.json()["error"]["message"]
    assert [s.title for s in emu.spreadsheet(sid).sheets] == ["Customers", "Deals"]


def test_rate_limit_every_third_call(emu: SheetsEmulator, sid: str) -> None:
    emu.faults.rate_limit_every = 3
    emu.faults.retry_after = 7
    statuses = [api(emu, "GET", f"/v4/spreadsheets/{sid}/values/Customers") for _ in range(6)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "7"
    assert statuses[2].json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_503_after_a_write_leaves_the_write_applied(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Customers")
    emu.faults.fail_after_writes = 1
    with pytest.raises(gspread.exceptions.APIError) as info:
        ws.update([["Zed"]], "B2")
    assert info.value.response.status_code == 503
    assert emu.values(sid, "Customers")[1][1] == "Zed"
    ws.update([["Ann"]], "B2")  # only one write failed
    assert emu.values(sid, "Customers")[1][1] == "Ann"


def test_latency(emu: SheetsEmulator, sid: str) -> None:
    emu.faults.latency = 0.2
    start = time.monotonic()
    assert api(emu, "GET", f"/v4/spreadsheets/{sid}").status_code == 200
    assert time.monotonic() - start >= 0.2


def test_concurrent_edit_hook_runs_between_two_calls(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Customers")
    first = ws.get_all_values()
    emu.on_next_call(lambda store: store.set_value(sid, "Customers", "B2", "Edited elsewhere"))
    second = ws.get_all_values()
    assert first[1][1] == "Ann"
    assert second[1][1] == "Edited elsewhere"


def test_errors_in_googles_shape(emu: SheetsEmulator, sid: str) -> None:
    r = requests.get(f"{emu.base_url}/v4/spreadsheets/{sid}", timeout=10)
    assert r.status_code == 401
    assert r.json()["error"]["status"] == "UNAUTHENTICATED"
    r = api(emu, "GET", "/v4/spreadsheets/nope")
    assert (r.status_code, r.json()["error"]["status"]) == (404, "NOT_FOUND")
    r = api(emu, "GET", f"/v4/spreadsheets/{sid}/values/Nope!A1")
    assert (r.status_code, r.json()["error"]["message"]) == (400, "Unable to parse range: Nope!A1")
    r = api(emu, "PATCH", f"/v4/spreadsheets/{sid}")
    assert r.status_code == 501
    assert r.json() == {
        "error": {
            "code": 501,
            "message": f"sheetcrm emulator: PATCH /v4/spreadsheets/{sid} is not implemented",
            "status": "UNIMPLEMENTED",
        }
    }


def test_gspread_raises_not_found(gc: gspread.Client) -> None:
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gc.open_by_key("does-not-exist")


def test_token_rejects_a_jwt_signed_by_an_unknown_key(emu: SheetsEmulator, tmp_path: Path) -> None:
    other = SheetsEmulator()  # never started: only used to mint a key the emulator does not know
    other._server = emu._server  # base_url for the key file
    key = make_service_account_key(tmp_path / "stranger.json", other)
    other._server = None
    creds = Credentials.from_service_account_file(str(key), scopes=SCOPES)  # type: ignore[no-untyped-call]
    make_service_account_key(tmp_path / "known.json", emu)
    with emulated_session(creds, emu.base_url) as session, pytest.raises(Exception, match="Invalid JWT Signature"):
        session.get("https://sheets.googleapis.com/v4/spreadsheets/x")


def test_calls_are_counted(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Customers")
    before = len(emu.api_calls)
    ws.get_all_values()
    ws.update([["x"]], "A9")
    assert emu.api_calls[before:] == [
        ("GET", f"/v4/spreadsheets/{sid}/values/'Customers'"),
        ("PUT", f"/v4/spreadsheets/{sid}/values/'Customers'!A9"),
    ]


@pytest.mark.parametrize(
    ("text", "a1"),
    [
        ("Customers", "Customers!A1:Z1000"),
        ("Customers!A1:C3", "Customers!A1:C3"),
        ("'Customers'!B2", "Customers!B2"),
        ("Customers!A:C", "Customers!A1:C1000"),
        ("Customers!A2:C", "Customers!A2:C1000"),
        ("Customers!A1:1", "Customers!A1:Z1"),
        ("Customers!2:3", "Customers!A2:Z3"),
        ("B2:C3", "Customers!B2:C3"),
        ("'My ''Sheet'''!A1", "'My ''Sheet'''!A1"),
    ],
)
def test_a1_ranges(emu: SheetsEmulator, text: str, a1: str) -> None:
    sid = emu.create_spreadsheet("R", sheets={"Customers": [], "My 'Sheet'": []})
    assert _parse_range(emu.spreadsheet(sid), text).a1() == a1


@pytest.mark.parametrize("text", ["Nope!A1", "Customers!A0", "Customers!A1:B2:C3", "Customers!1A", "'Customers"])
def test_bad_a1_ranges(emu: SheetsEmulator, text: str) -> None:
    from sheetcrm.testing.sheets_emulator import ApiError

    sid = emu.create_spreadsheet("R", sheets={"Customers": []})
    with pytest.raises(ApiError, match="Unable to parse range"):
        _parse_range(emu.spreadsheet(sid), text)


def test_a_revoked_key_gets_no_token_and_its_tokens_stop_working(
    emu: SheetsEmulator, gc: gspread.Client, sid: str
) -> None:
    gc.open_by_key(sid).worksheet("Customers").get_all_values()
    token = next(iter(emu.tokens))
    key_id = next(iter(emu.public_keys))
    emu.revoke_key(key_id)
    answer = requests.get(
        emu.base_url + f"/v4/spreadsheets/{sid}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 401 and "invalid authentication credentials" in answer.json()["error"]["message"]
    with pytest.raises(Exception, match="invalid_grant"):
        gc.open_by_key(sid)  # google-auth asks /token again, with the revoked key


def test_an_error_can_carry_googles_reason(emu: SheetsEmulator, sid: str) -> None:
    from sheetcrm.testing.sheets_emulator import ApiError

    def refuse(_: SheetsEmulator) -> None:
        raise ApiError(403, "The user's Drive storage quota has been exceeded.", reason="storageQuotaExceeded")

    emu.on_next_call(refuse)
    answer = api(emu, "GET", f"/v4/spreadsheets/{sid}")
    assert answer.status_code == 403
    assert answer.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"
