"""sheetcrm.toml: loading, defaults, every error kind, secrets, rendering and the docs."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from sheetcrm.config import (
    Config,
    FixConfig,
    SecretRef,
    TableConfig,
    config_reference_markdown,
    default_config,
    load_config,
    render_config,
    resolve_secret,
    write_config,
)
from sheetcrm.errors import ConfigError, InputError

DOCS = Path(__file__).resolve().parent.parent / "docs" / "config.md"

FULL = """\
workbook = "data/crm.xlsx"
timezone = "Asia/Shanghai"

[tables.customers]
sheet = "客户"
header_row = 3

[tables.orders]
id_column = "order_no"

[tables.leads]
sheet = "Leads"
id_column = "lead_id"

[safety]
backups = 20
lock_timeout = 2.5

[google]
credentials = "keys/service.json"
endpoint = "http://localhost:9999"

[smtp]
host = "smtp.example.com"
port = 465
username = "crm@example.com"
password = { env = "SHEETCRM_TEST_SMTP_PASSWORD" }
sender = "CRM <crm@example.com>"
starttls = false

[fix]
phone_format = "national"
default_region = "us"
day_first = true

[dedupe]
merge_threshold = 0.9
survivorship = { owner = "oldest" }

[jobs.nightly]
steps = ["dedupe", "stale"]
schedule = "every day at 02:00"
"""


def write(folder: Path, text: str, name: str = "sheetcrm.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(folder: Path, text: str) -> ConfigError:
    path = write(folder, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert "Traceback" not in message and "validation error" not in message.lower()
    return caught.value


# --------------------------------------------------------------------------- loading


def test_full_example_loads(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_config(path, required=True)

    assert config.path == path.resolve()
    assert config.workbook == str((tmp_path / "data" / "crm.xlsx").resolve())
    assert config.timezone == "Asia/Shanghai"
    assert config.tables["customers"] == TableConfig(sheet="客户", header_row=3, id_column="customer_id")
    assert config.tables["orders"] == TableConfig(sheet="Orders", id_column="order_no")
    assert config.tables["interactions"].sheet == "Interactions"
    assert config.tables["opportunities"].id_column == "opportunity_id"
    assert config.tables["leads"] == TableConfig(sheet="Leads", id_column="lead_id")
    assert list(config.tables) == ["customers", "orders", "interactions", "opportunities", "leads"]
    assert config.safety.backups == 20
    assert config.safety.lock_timeout == 2.5
    assert config.google.credentials == (tmp_path / "keys" / "service.json").resolve()
    assert config.google.endpoint == "http://localhost:9999"
    assert config.smtp.port == 465
    assert config.smtp.starttls is False
    assert config.smtp.password == SecretRef(env="SHEETCRM_TEST_SMTP_PASSWORD")
    assert config.fix == FixConfig(phone_format="national", default_region="US", day_first=True)
    assert (config.dedupe.merge_threshold, config.dedupe.survivorship) == (0.9, {"owner": "oldest"})
    assert config.dedupe.match_settings() == {"merge_threshold": 0.9}
    assert config.jobs["nightly"].steps == ["dedupe", "stale"]
    assert config.jobs["nightly"].schedule == "every day at 02:00"


def test_defaults() -> None:
    config = default_config()
    assert config.path is None
    assert config.workbook is None
    assert config.timezone == "UTC"
    assert {name: (t.sheet, t.id_column, t.header_row) for name, t in config.tables.items()} == {
        "customers": ("Customers", "customer_id", None),
        "orders": ("Orders", "order_id", None),
        "interactions": ("Interactions", "interaction_id", None),
        "opportunities": ("Opportunities", "opportunity_id", None),
    }
    assert config.safety.backups == 10
    assert config.safety.lock_timeout == 0
    assert config.smtp.port == 587
    assert config.smtp.starttls is True
    assert config.smtp.password is None
    assert config.google.credentials is None
    assert (config.fix.phone_format, config.fix.default_region, config.fix.day_first) == ("e164", "CN", None)
    assert config.dedupe.merge_threshold == 0.97 and config.dedupe.match_settings() == {}
    assert config.stale.cadence == {"VIP": 30, "Key": 60, "Standard": 90} and config.stale.default_days == 90
    assert config.segments.tags == [] and config.pipeline.ship_within_days == 3
    assert config.reminders.channels is None and config.reminders.language == "en"
    assert config.reports.custom == config.jobs == config.schema_ == {}


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config == default_config()
    assert config.path == (tmp_path / "sheetcrm.toml").resolve()


def test_partial_table_keeps_other_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[tables.customers]\nheader_row = 2\n"))
    assert config.tables["customers"] == TableConfig(sheet="Customers", header_row=2, id_column="customer_id")
    assert len(config.tables) == 4


def test_no_path_uses_the_file_in_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config() == default_config()
    assert load_config().path is None
    write(tmp_path, 'timezone = "Europe/Berlin"\n')
    config = load_config()
    assert config.timezone == "Europe/Berlin"
    assert config.path == (tmp_path / "sheetcrm.toml").resolve()


def test_missing_file_gives_defaults_unless_required(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    assert load_config(missing) == default_config()

    with pytest.raises(ConfigError) as caught:
        load_config(missing, required=True)
    assert str(caught.value).startswith(f"{missing}: config file not found")
    assert caught.value.hint is not None
    assert "sheetcrm init" in caught.value.hint and "sheetcrm demo" in caught.value.hint

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^sheetcrm\.toml: config file not found"):
        load_config(required=True)


# --------------------------------------------------------------------------- errors


def test_unknown_key_names_file_key_and_suggests(tmp_path: Path) -> None:
    error = error_of(tmp_path, "[tables.customers]\nheader_rw = 2\n")
    assert error.message == f"{tmp_path / 'sheetcrm.toml'}: tables.customers.header_rw: unknown key"
    assert error.hint is not None
    assert "did you mean 'header_row'?" in error.hint
    assert "sheet, header_row, id_column" in error.hint


def test_unknown_top_level_section(tmp_path: Path) -> None:
    error = error_of(tmp_path, '[smpt]\nhost = "x"\n')
    assert error.message.endswith("smpt: unknown key")
    assert error.hint is not None and "did you mean 'smtp'?" in error.hint


def test_unknown_key_without_close_match_lists_valid_keys(tmp_path: Path) -> None:
    error = error_of(tmp_path, "[safety]\nzzz = 1\n")
    assert "safety.zzz: unknown key" in error.message
    assert error.hint == "valid keys in [safety]: backups, lock_timeout"


def test_path_is_not_a_key_of_the_file(tmp_path: Path) -> None:
    error = error_of(tmp_path, 'path = "elsewhere.toml"\n')
    assert error.message.endswith(": path: unknown key")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[safety]\nbackups = "ten"\n', 'safety.backups: expected an integer, got "ten"'),
        ("[safety]\nbackups = 1.5\n", "safety.backups: expected an integer, got 1.5"),
        ('[safety]\nlock_timeout = "soon"\n', 'safety.lock_timeout: expected a number, got "soon"'),
        ('[smtp]\nstarttls = "maybe"\n', 'smtp.starttls: expected true or false, got "maybe"'),
        ("timezone = 8\n", "timezone: expected a string, got 8"),
        ("tables = 5\n", "tables: expected a table, got 5"),
        ('[tables]\ncustomers = "Kunden"\n', 'tables.customers: expected a table, got "Kunden"'),
        ("schema = []\n", "schema: expected a table, got an array"),
        ("[safety]\nbackups = -1\n", "safety.backups: should be greater than or equal to 0, got -1"),
        ("[tables.orders]\nheader_row = 0\n", "tables.orders.header_row: should be greater than or equal to 1, got 0"),
        ("[smtp]\nport = 70000\n", "smtp.port: should be less than or equal to 65535, got 70000"),
        ("[google]\ncredentials = 5\n", "google.credentials: expected a path (a string), got 5"),
        ('[fix]\nphone_format = "E.164"\n', "fix.phone_format: should be 'e164' or 'national', got \"E.164\""),
        ('[fix]\nday_first = "maybe"\n', 'fix.day_first: expected true or false, got "maybe"'),
        ("[fix]\ndefault_region = 86\n", "fix.default_region: expected a string, got 86"),
    ],
)
def test_wrong_types_name_the_key_and_the_value(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text).message == f"{tmp_path / 'sheetcrm.toml'}: {expected}"


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    error = error_of(tmp_path, '[safety]\nbackups = "ten"\nlock_timeout = -1\nbogus = 1\n')
    assert "safety.backups" in error.message
    assert "safety.lock_timeout" in error.message
    assert "safety.bogus: unknown key" in error.message


def test_unknown_fix_key_is_named_like_any_other(tmp_path: Path) -> None:
    error = error_of(tmp_path, "[fix]\ndayfirst = true\n")
    assert error.message == f"{tmp_path / 'sheetcrm.toml'}: fix.dayfirst: unknown key"
    assert error.hint == "did you mean 'day_first'? valid keys in [fix]: phone_format, default_region, day_first"


@pytest.mark.parametrize("region", ["XX", "USA", "001", ""])
def test_unknown_region_names_the_key(tmp_path: Path, region: str) -> None:
    error = error_of(tmp_path, f'[fix]\ndefault_region = "{region}"\n')
    assert error.message == f'{tmp_path / "sheetcrm.toml"}: fix.default_region: unknown country "{region}"'
    assert error.hint is not None and "two-letter country code" in error.hint


def test_explicit_fix_settings_win_over_the_file(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, '[fix]\ndefault_region = "US"\nday_first = true\n')).fix
    assert settings.override() == settings
    assert settings.override(default_region="de", day_first=False, phone_format="national") == FixConfig(
        phone_format="national", default_region="DE", day_first=False
    )
    assert settings.override(phone_format=None, default_region=None, day_first=None).day_first is True
    with pytest.raises(InputError, match="unknown phone region 'XX'"):
        settings.override(default_region="XX")
    with pytest.raises(InputError, match="unknown phone format 'E164'"):
        settings.override(phone_format="E164")


def test_custom_table_needs_a_sheet(tmp_path: Path) -> None:
    error = error_of(tmp_path, '[tables.customer]\nid_column = "cid"\n')
    assert "tables.customer.sheet: missing" in error.message
    assert error.hint is not None
    assert "did you mean [tables.customers]?" in error.hint


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    error = error_of(tmp_path, 'timezone = "UTC"\nworkbook = crm.xlsx\n')
    assert re.search(r"sheetcrm\.toml: line 2, column \d+: invalid TOML", error.message)
    assert error.hint is not None and "double quotes" in error.hint


def test_toml_syntax_error_at_end_of_file(tmp_path: Path) -> None:
    error = error_of(tmp_path, "[safety\n")
    assert "invalid TOML" in error.message


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "sheetcrm.toml"
    path.write_bytes(b'timezone = "UTC"\nworkbook = "\xff.xlsx"\n')
    with pytest.raises(ConfigError, match=r"sheetcrm\.toml: line 2: the config file is not UTF-8"):
        load_config(path)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "sheetcrm.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(folder)


# --------------------------------------------------------------------------- timezone


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Shanghai", "America/New_York"])
def test_valid_timezones(tmp_path: Path, zone: str) -> None:
    assert load_config(write(tmp_path, f'timezone = "{zone}"\n')).timezone == zone


@pytest.mark.parametrize(
    ("zone", "suggestion"),
    [("Europe/Berlim", "Europe/Berlin"), ("asia/shanghai", "Asia/Shanghai"), ("Mars/Olympus", None), ("", None)],
)
def test_invalid_timezones(tmp_path: Path, zone: str, suggestion: str | None) -> None:
    error = error_of(tmp_path, f'timezone = "{zone}"\n')
    assert f'timezone: unknown time zone "{zone}"' in error.message
    assert error.hint is not None
    if suggestion:
        assert f"did you mean {suggestion!r}?" in error.hint


# --------------------------------------------------------------------------- workbook


def test_relative_workbook_resolved_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(write(project, 'workbook = "../shared/crm.xlsx"\n'))
    assert config.workbook == str((tmp_path / "shared" / "crm.xlsx").resolve())


def test_absolute_workbook_kept(tmp_path: Path) -> None:
    target = (tmp_path / "abs" / "crm.xlsx").resolve()
    config = load_config(write(tmp_path, f"workbook = {json.dumps(str(target))}\n"))
    assert config.workbook == str(target)


@pytest.mark.parametrize(
    "url",
    [
        "gsheets://1AbCdEfGhIjKlMnOp",
        "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp/edit#gid=0",
    ],
)
def test_workbook_urls_kept_as_given(tmp_path: Path, url: str) -> None:
    config = load_config(write(tmp_path, f'workbook = "{url}"\n'))
    assert config.workbook == url
    assert default_config(url).workbook == url


def test_default_config_resolves_against_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_config("crm.xlsx").workbook == str((tmp_path / "crm.xlsx").resolve())


# --------------------------------------------------------------------------- secrets


SECRET = "s3cr3t-hunter2-value"


def test_env_secret_resolved_at_use_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHEETCRM_TEST_SMTP_PASSWORD", raising=False)
    config = load_config(write(tmp_path, FULL))  # loading does not need the secret
    assert config.smtp.password is not None
    monkeypatch.setenv("SHEETCRM_TEST_SMTP_PASSWORD", SECRET)
    assert resolve_secret(config.smtp.password) == SECRET


def test_env_secret_unset_names_key_and_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHEETCRM_TEST_SMTP_PASSWORD", raising=False)
    path = write(tmp_path, FULL)
    config = load_config(path)
    assert config.smtp.password is not None
    with pytest.raises(ConfigError) as caught:
        resolve_secret(config.smtp.password)
    assert caught.value.message == f"{path}: smtp.password: environment variable SHEETCRM_TEST_SMTP_PASSWORD is not set"


def test_env_secret_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHEETCRM_TEST_SMTP_PASSWORD", "")
    config = load_config(write(tmp_path, FULL))
    assert config.smtp.password is not None
    with pytest.raises(ConfigError, match="SHEETCRM_TEST_SMTP_PASSWORD is empty"):
        resolve_secret(config.smtp.password)


def test_file_secret_relative_to_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "smtp.txt").write_text(SECRET + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path.parent)
    config = load_config(write(tmp_path, '[smtp]\npassword = { file = "secrets/smtp.txt" }\n'))
    assert config.smtp.password == SecretRef(file=(tmp_path / "secrets" / "smtp.txt").resolve())
    assert resolve_secret(config.smtp.password) == SECRET


def test_file_secret_missing(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\npassword = { file = "secrets/nope.txt" }\n')
    config = load_config(path)
    assert config.smtp.password is not None
    with pytest.raises(ConfigError, match=r"smtp\.password: the secret file .*nope\.txt does not exist"):
        resolve_secret(config.smtp.password)


def test_google_credentials_as_env_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHEETCRM_TEST_GOOGLE", "/keys/service.json")
    config = load_config(write(tmp_path, '[google]\ncredentials = { env = "SHEETCRM_TEST_GOOGLE" }\n'))
    assert isinstance(config.google.credentials, SecretRef)
    assert resolve_secret(config.google.credentials) == "/keys/service.json"
    monkeypatch.delenv("SHEETCRM_TEST_GOOGLE")
    with pytest.raises(ConfigError, match=r"google\.credentials: environment variable SHEETCRM_TEST_GOOGLE"):
        resolve_secret(config.google.credentials)


@pytest.mark.parametrize(
    "text",
    [
        f'[smtp]\npassword = "{SECRET}"\n',
        "[smtp]\npassword = 123456\n",
        '[google]\ncredentials = \'{"type": "service_account", "private_key": "' + SECRET + "\"}'\n",
    ],
)
def test_literal_secret_refused_without_echoing_it(tmp_path: Path, text: str) -> None:
    error = error_of(tmp_path, text)
    assert 'write { env = "NAME" } instead' in error.message
    assert SECRET not in str(error) and "123456" not in str(error)
    assert error.hint is not None and "{ env = " in error.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[smtp]\npassword = { env = "A", file = "b" }\n', "give exactly one of env or file"),
        ("[smtp]\npassword = {}\n", "give exactly one of env or file"),
        ('[smtp]\npassword = { envv = "A" }\n', "smtp.password.envv: unknown key"),
        ('[smtp]\npassword = { env = "NOT A NAME" }\n', "smtp.password.env: not an environment variable name"),
    ],
)
def test_bad_secret_references(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_of(tmp_path, text).message


def test_secret_value_never_in_model_repr_or_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHEETCRM_TEST_SMTP_PASSWORD", SECRET)
    config = load_config(write(tmp_path, FULL))
    assert config.smtp.password is not None
    assert resolve_secret(config.smtp.password) == SECRET
    for text in (repr(config), str(config), render_config(config), render_config(config, fmt="json")):
        assert SECRET not in text
    assert 'password = { env = "SHEETCRM_TEST_SMTP_PASSWORD" }' in render_config(config)
    assert json.loads(render_config(config, fmt="json"))["smtp"]["password"] == {"env": "SHEETCRM_TEST_SMTP_PASSWORD"}


# --------------------------------------------------------------------------- rendering


def test_render_shows_defaults_and_help_lines() -> None:
    text = render_config(default_config())
    data = tomllib.loads(text)
    assert data["safety"] == {"backups": 10, "lock_timeout": 0.0}
    assert data["tables"]["orders"] == {"sheet": "Orders", "id_column": "order_id"}
    assert "# Rotated backups kept in .sheetcrm/backups" in text
    assert "# header_row = 1" in text  # unset keys appear commented, with an example
    assert data["fix"] == {"phone_format": "e164", "default_region": "CN"}
    assert "# day_first = true" in text


def test_render_json_has_every_key() -> None:
    data = json.loads(render_config(default_config(), fmt="json"))
    assert set(data) == {
        "workbook",
        "timezone",
        "tables",
        "safety",
        "google",
        "smtp",
        "fix",
        "dedupe",
        "rollups",
        "stale",
        "segments",
        "pipeline",
        "reminders",
        "reports",
        "jobs",
        "schema",
    }
    assert data["tables"]["customers"]["header_row"] is None
    assert data["fix"] == {"phone_format": "e164", "default_region": "CN", "day_first": None}


def test_render_write_load_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secrets").mkdir()
    original = load_config(
        write(
            tmp_path,
            FULL + '\n[reports.custom.weekly]\ntitle = "a \\"q\\"\\n"\nsource = "orders"\nrows = ["status"]\n',
        )
    )
    out = tmp_path / "copy" / "sheetcrm.toml"
    out.parent.mkdir()
    write_config(out, original)
    again = load_config(out)
    assert again == original
    assert again.path != original.path
    # what render shows loads back to the same config, too
    rendered = write(tmp_path / "copy", render_config(original), name="rendered.toml")
    assert load_config(rendered) == original
    assert sorted(p.name for p in out.parent.iterdir()) == ["rendered.toml", "sheetcrm.toml"]


def test_write_config_keeps_paths_relative(tmp_path: Path) -> None:
    config = default_config(str(tmp_path / "crm.xlsx"))
    path = tmp_path / "sheetcrm.toml"
    write_config(path, config)
    text = path.read_text(encoding="utf-8")
    assert 'workbook = "crm.xlsx"' in text
    assert text.startswith("# sheetcrm configuration")
    assert load_config(path) == config
    assert load_config(path).workbook == str(tmp_path / "crm.xlsx")


def test_render_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_config(default_config(), fmt="yaml")  # type: ignore[arg-type]


def test_models_reject_unknown_keys_in_code_too() -> None:
    with pytest.raises(ValueError, match="extra"):
        Config.model_validate({"workbok": "x"})


def test_every_field_has_a_help_line() -> None:
    from pydantic import BaseModel

    from sheetcrm import config as module

    models = [obj for obj in vars(module).values() if isinstance(obj, type) and issubclass(obj, BaseModel)]
    assert len(models) >= 6
    for model in models:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


# --------------------------------------------------------------------------- docs


def test_docs_contain_the_generated_reference() -> None:
    assert config_reference_markdown() in DOCS.read_text(encoding="utf-8"), (
        "docs/config.md is out of date: paste the output of sheetcrm.config.config_reference_markdown()"
    )


def test_docs_example_loads(tmp_path: Path) -> None:
    example = re.search(r"## Example\n\n```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert example is not None
    config = load_config(write(tmp_path, example.group(1)))
    assert config.tables["leads"].sheet == "Leads"


def test_empty_paths_refused(tmp_path: Path) -> None:
    assert "workbook: the workbook path is empty" in error_of(tmp_path, 'workbook = " "\n').message
    assert "google.credentials: the path is empty" in error_of(tmp_path, '[google]\ncredentials = ""\n').message
