"""load_credentials: where the service-account key comes from, and that its content never shows."""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any

import gspread
import pytest
from google.oauth2.service_account import Credentials

from sheetcrm.config import GoogleConfig, load_config
from sheetcrm.errors import ConfigError, InputError, SheetcrmError
from sheetcrm.sync.gsheets.auth import ENV_VAR, SCOPES, CredentialsError, account_email, load_credentials
from sheetcrm.testing import SheetsEmulator, emulated_session

EMAIL = "sheetcrm-test@emulator.iam.gserviceaccount.com"
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")


def key_info(key_file: Path) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(key_file.read_text())
    return info


def secret_bits(key_file: Path) -> list[str]:
    """Pieces of the key that must never show: lines of the private key, and its id."""
    info = key_info(key_file)
    lines = [line for line in info["private_key"].splitlines() if line and "-----" not in line]
    return [*lines[1:4], lines[-1], info["private_key_id"]]


def assert_hidden(error: BaseException, bits: list[str]) -> None:
    """Neither the error, its repr, anything chained to it, nor its printed traceback holds the key."""
    shown = "".join(traceback.format_exception(error))
    current: BaseException | None = error
    while current is not None:
        shown += str(current) + repr(current)
        current = current.__cause__ or current.__context__
    for bit in bits:
        assert bit not in shown
    assert "PRIVATE KEY" not in shown


def write_json(path: Path, payload: object, mode: int = 0o600) -> Path:
    path.touch(mode=mode)
    path.chmod(mode)
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- where the key comes from


def test_env_var_path(google_key: Path) -> None:
    creds = load_credentials(None, environ={ENV_VAR: str(google_key)})
    assert isinstance(creds, Credentials)
    assert account_email(creds) == EMAIL
    assert tuple(creds.scopes or ()) == SCOPES


def test_config_path_is_relative_to_the_config_folder(
    google_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "keys").mkdir(parents=True)
    google_key.rename(project / "keys" / "sa.json")
    (project / "sheetcrm.toml").write_text('[google]\ncredentials = "keys/sa.json"\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # run from another folder: the path still means project/keys/sa.json
    config = load_config(project / "sheetcrm.toml", required=True)
    creds = load_credentials(config.google, config_dir=project, environ={})
    assert account_email(creds) == EMAIL


def test_config_dir_applies_to_a_relative_path(google_key: Path) -> None:
    config = GoogleConfig.model_construct(credentials=Path(google_key.name))  # as built, not yet resolved
    creds = load_credentials(config, config_dir=google_key.parent, environ={})
    assert account_email(creds) == EMAIL


def test_config_wins_over_the_environment(google_key: Path, tmp_path: Path) -> None:
    config = GoogleConfig.model_validate({"credentials": str(google_key)})
    creds = load_credentials(config, config_dir=tmp_path, environ={ENV_VAR: str(tmp_path / "missing.json")})
    assert account_email(creds) == EMAIL


def test_env_reference_holding_a_path(google_key: Path) -> None:
    config = GoogleConfig.model_validate({"credentials": {"env": "SHEETS_KEY"}})
    creds = load_credentials(config, environ={"SHEETS_KEY": str(google_key)})
    assert account_email(creds) == EMAIL


def test_env_reference_holding_the_json(emu: SheetsEmulator, google_key: Path) -> None:
    config = GoogleConfig.model_validate({"credentials": {"env": "SHEETS_KEY"}})
    creds = load_credentials(config, environ={"SHEETS_KEY": google_key.read_text()})
    assert account_email(creds) == EMAIL
    for bit in secret_bits(google_key):
        assert bit not in repr(creds) and bit not in str(creds)
    # and it works: a token from the emulator, a sheet read through gspread
    sid = emu.create_spreadsheet("CRM", sheets={"Customers": [["id"], ["C-1"]]})
    with emulated_session(creds, emu.base_url) as session:
        assert gspread.Client(creds, session=session).open_by_key(sid).sheet1.get_all_values() == [["id"], ["C-1"]]


def test_file_reference(google_key: Path, tmp_path: Path) -> None:
    config = GoogleConfig.model_validate({"credentials": {"file": "service-account.json"}}, context={"base": tmp_path})
    assert account_email(load_credentials(config, config_dir=tmp_path, environ={})) == EMAIL


def test_no_key_anywhere_says_how_to_give_one() -> None:
    with pytest.raises(ConfigError) as caught:
        load_credentials(None, config_dir=None, environ={ENV_VAR: ""})
    text = str(caught.value)
    assert "google.credentials" in text and ENV_VAR in text and "docs/config.md" in text


def test_unset_variable_named_in_the_error() -> None:
    config = GoogleConfig.model_validate({"credentials": {"env": "SHEETS_KEY"}})
    with pytest.raises(ConfigError, match="environment variable SHEETS_KEY is not set"):
        load_credentials(config, environ={})


# --------------------------------------------------------------------------- refusals


@posix_only
def test_key_readable_by_others_is_refused(google_key: Path) -> None:
    google_key.chmod(0o644)
    with pytest.raises(CredentialsError) as caught:
        load_credentials(None, environ={ENV_VAR: str(google_key)})
    error = caught.value
    assert isinstance(error, InputError) and error.exit_code == 2
    assert error.message == f"{google_key}: the key file is readable by other users"
    assert error.hint == f"chmod 600 {google_key}"
    google_key.chmod(0o640)  # group-readable is refused too
    with pytest.raises(CredentialsError, match="readable by other users"):
        load_credentials(None, environ={ENV_VAR: str(google_key)})
    google_key.chmod(0o600)
    assert account_email(load_credentials(None, environ={ENV_VAR: str(google_key)})) == EMAIL


def test_missing_file_names_the_path_and_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(CredentialsError) as caught:
        load_credentials(None, environ={ENV_VAR: str(missing)})
    assert caught.value.message == f"{missing}: the service-account key file does not exist (set by {ENV_VAR})"


def test_not_json(google_key: Path, tmp_path: Path) -> None:
    pem_only = tmp_path / "key.pem"
    pem_only.touch(mode=0o600)
    pem_only.write_text(key_info(google_key)["private_key"], encoding="utf-8")
    with pytest.raises(CredentialsError) as caught:
        load_credentials(None, environ={ENV_VAR: str(pem_only)})
    assert caught.value.message == f"{pem_only}: not a service-account key: not valid JSON (line 1, column 1)"
    assert_hidden(caught.value, secret_bits(google_key))


def test_broken_json_in_a_variable(google_key: Path) -> None:
    text = google_key.read_text()[:-40]  # cut off: the private key is in it, the end is not
    config = GoogleConfig.model_validate({"credentials": {"env": "SHEETS_KEY"}})
    with pytest.raises(
        CredentialsError, match=r"^environment variable SHEETS_KEY: not a service-account key: not valid JSON"
    ):
        load_credentials(config, environ={"SHEETS_KEY": text})


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (
            {"installed": {"client_id": "x.apps.googleusercontent.com", "client_secret": "GOCSPX-s3cr3t-value"}},
            "an OAuth client secret",
        ),
        (
            {
                "type": "authorized_user",
                "client_id": "x",
                "client_secret": "GOCSPX-s3cr3t-value",
                "refresh_token": "1//r",
            },
            "user credentials",
        ),
        (
            {"type": "external_account", "audience": "//iam", "client_secret": "GOCSPX-s3cr3t-value"},
            "workload identity",
        ),
        ({"type": "GOCSPX-s3cr3t-value"}, '"type" is not "service_account"'),
        (["GOCSPX-s3cr3t-value"], "the JSON is not an object"),
    ],
)
def test_not_a_service_account_key(tmp_path: Path, payload: object, says: str) -> None:
    key = write_json(tmp_path / "client.json", payload)
    with pytest.raises(CredentialsError) as caught:
        load_credentials(None, environ={ENV_VAR: str(key)})
    assert caught.value.message.startswith(f"{key}: ")
    assert says in caught.value.message
    assert caught.value.hint is not None and "Service accounts" in caught.value.hint
    assert_hidden(caught.value, ["GOCSPX-s3cr3t-value", "1//r"])


def test_missing_fields_are_named(google_key: Path, tmp_path: Path) -> None:
    info = key_info(google_key)
    del info["private_key"], info["token_uri"]
    key = write_json(tmp_path / "partial.json", info)
    with pytest.raises(CredentialsError) as caught:
        load_credentials(None, environ={ENV_VAR: str(key)})
    assert caught.value.message == f"{key}: the service-account key lacks private_key, token_uri"


def test_damaged_private_key(google_key: Path, tmp_path: Path) -> None:
    info = key_info(google_key)
    lines = info["private_key"].splitlines()
    info["private_key"] = "\n".join(lines[:5] + lines[8:]) + "\n"  # three lines lost
    key = write_json(tmp_path / "damaged.json", info)
    with pytest.raises(CredentialsError) as caught:
        load_credentials(None, environ={ENV_VAR: str(key)})
    assert caught.value.message == f"{key}: the key's private_key is not a valid private key"
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert_hidden(caught.value, secret_bits(google_key))


@pytest.mark.parametrize("shape", ["pem", "base64"])
def test_variable_holding_neither_path_nor_json_is_not_echoed(google_key: Path, shape: str) -> None:
    import base64

    text = key_info(google_key)["private_key"]
    value = text if shape == "pem" else base64.b64encode(google_key.read_bytes()).decode()
    with pytest.raises(CredentialsError) as caught:
        load_credentials(None, environ={ENV_VAR: value})
    assert (
        caught.value.message == f"environment variable {ENV_VAR} holds neither a path to a key file nor the key's JSON"
    )
    if shape == "base64":
        assert caught.value.hint is not None and "base64" in caught.value.hint
    assert_hidden(caught.value, [*secret_bits(google_key), value[:60]])


def test_a_folder_is_not_a_key(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="is a folder, not a key file"):
        load_credentials(None, environ={ENV_VAR: str(tmp_path)})


def test_every_refusal_is_a_sheetcrm_error(tmp_path: Path) -> None:
    assert issubclass(CredentialsError, SheetcrmError)
    assert CredentialsError("x").exit_code == 2
