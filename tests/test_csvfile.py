"""CSV files read exactly as they are, and written safely, with real files on disk."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import os
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from sheetcrm.errors import InputError, WorkbookUnreadable
from sheetcrm.sync.csvfile import guard_cell, read_csv, sniff_delimiter, write_csv
from sheetcrm.sync.table import RawSheet, build_table

ROWS = [
    ["customer_id", "name", "phone", "status", "note"],
    ["00123", "Ada", "+8613800138000", "NA", "null"],
    ["00124", "Bob", "", "active", 'said "hi", then left'],
]
TEXT = 'customer_id,name,phone,status,note\r\n00123,Ada,+8613800138000,NA,null\r\n00124,Bob,,active,"said ""hi"", then left"\r\n'

CHINESE = [["客户名称", "电话"], ["张三", "+8613800138000"], ["北京某某有限公司", "010-65529988"]]
CHINESE_TEXT = "客户名称,电话\n张三,+8613800138000\n北京某某有限公司,010-65529988\n"


def put(folder: Path, data: bytes, name: str = "customers.csv") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- encodings


def test_utf8(tmp_path: Path) -> None:
    sheet = read_csv(put(tmp_path, TEXT.encode("utf-8")))
    assert sheet == RawSheet(name="customers", rows=ROWS)


def test_utf8_with_bom(tmp_path: Path) -> None:
    sheet = read_csv(put(tmp_path, codecs.BOM_UTF8 + CHINESE_TEXT.encode("utf-8")))
    assert sheet.rows == CHINESE
    assert sheet.rows[0][0] == "客户名称"  # no BOM left on the first header


def test_gb18030_chinese_excel_export(tmp_path: Path) -> None:
    data = CHINESE_TEXT.replace("\n", "\r\n").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    sheet = read_csv(put(tmp_path, data, "客户.csv"))
    assert sheet.name == "客户"
    assert sheet.rows == CHINESE


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path: Path, codec: str) -> None:
    bom = {"utf-16": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}[codec]
    text = CHINESE_TEXT.replace(",", "\t")  # Excel's "Unicode text" is UTF-16 and tab-delimited
    sheet = read_csv(put(tmp_path, bom + text.encode(codec)))
    assert sheet.rows == CHINESE


def test_utf32_with_bom(tmp_path: Path) -> None:
    assert read_csv(put(tmp_path, CHINESE_TEXT.encode("utf-32"))).rows == CHINESE


def test_explicit_encoding(tmp_path: Path) -> None:
    path = put(tmp_path, "name,city\nJosé,Köln\n".encode("cp1252"))
    assert read_csv(path, encoding="cp1252").rows == [["name", "city"], ["José", "Köln"]]


def test_explicit_utf8_still_drops_the_bom(tmp_path: Path) -> None:
    path = put(tmp_path, codecs.BOM_UTF8 + b"a,b\n1,2\n")
    assert read_csv(path, encoding="utf-8").rows == [["a", "b"], ["1", "2"]]


def test_wrong_explicit_encoding(tmp_path: Path) -> None:
    path = put(tmp_path, CHINESE_TEXT.encode("gb18030"))
    with pytest.raises(WorkbookUnreadable, match="not valid utf-8 text") as caught:
        read_csv(path, encoding="utf-8")
    assert str(path) in str(caught.value)


def test_unknown_encoding_name(tmp_path: Path) -> None:
    with pytest.raises(WorkbookUnreadable, match="unknown encoding 'klingon'"):
        read_csv(put(tmp_path, b"a,b\n"), encoding="klingon")


def test_undecodable_file_suggests_encoding_option(tmp_path: Path) -> None:
    # 0x80 and 0xFF are invalid both in UTF-8 and as GB18030 lead bytes
    path = put(tmp_path, b"name\n\x80\xff\n")
    with pytest.raises(WorkbookUnreadable) as caught:
        read_csv(path)
    assert str(path) in caught.value.message
    assert "neither UTF-8 nor GB18030" in caught.value.message
    assert caught.value.hint is not None and "--encoding" in caught.value.hint


# --------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = "\n".join(delimiter.join(row) for row in ROWS[:2]) + "\n"
    assert read_csv(put(tmp_path, text.encode())).rows == ROWS[:2]


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    # German/French Excel: ; between fields, , as the decimal mark
    text = "kunde;betrag;datum\nMüller GmbH;1.234,56;31.12.2024\nSchmidt;99,90;01.01.2025\n"
    sheet = read_csv(put(tmp_path, text.encode("utf-8-sig")))
    assert sheet.rows == [
        ["kunde", "betrag", "datum"],
        ["Müller GmbH", "1.234,56", "31.12.2024"],
        ["Schmidt", "99,90", "01.01.2025"],
    ]


def test_tab_delimited(tmp_path: Path) -> None:
    text = "id\tname\tnote\n1\tAda\ta, b; c\n2\tBob\t\n"
    assert read_csv(put(tmp_path, text.encode())).rows == [
        ["id", "name", "note"],
        ["1", "Ada", "a, b; c"],
        ["2", "Bob", ""],
    ]


def test_explicit_delimiter_wins(tmp_path: Path) -> None:
    path = put(tmp_path, b"a;b,c\n1;2,3\n")
    assert read_csv(path, delimiter=",").rows == [["a;b", "c"], ["1;2", "3"]]
    assert read_csv(path, delimiter=";").rows == [["a", "b,c"], ["1", "2,3"]]


def test_single_column_falls_back_to_comma(tmp_path: Path) -> None:
    assert read_csv(put(tmp_path, b"email\na@example.com\nb@example.com\n")).rows == [
        ["email"],
        ["a@example.com"],
        ["b@example.com"],
    ]


def test_sniff_delimiter_on_text() -> None:
    assert sniff_delimiter("") == ","
    assert sniff_delimiter("a|b|c") == "|"
    assert sniff_delimiter("a;b\n1;2\n") == ";"


# --------------------------------------------------------------------------- values untouched


def test_tricky_values_survive(tmp_path: Path) -> None:
    rows = [
        ["id", "zip", "phone", "missing", "empty", "bool", "date", "big", "sci", "formula", "multiline"],
        [
            "00123",
            "01234",
            "+8613800138000",
            "NA",
            "null",
            "TRUE",
            "03/04/2024",
            "12345678901234567890",
            "1E5",
            "=SUM(A1:A3)",
            "line one\nline two",
        ],
        ["007", "  padded  ", "+1 415 555 0134", "N/A", "None", "false", "2024-01-31", "0.10", "1e-3", "'=1", "中文"],
    ]
    path = tmp_path / "tricky.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        import csv

        csv.writer(stream).writerows(rows)
    assert read_csv(path).rows == rows


def test_ragged_rows_and_blank_lines_kept(tmp_path: Path) -> None:
    sheet = read_csv(put(tmp_path, b"a,b,c\n1\n\n1,2,3,4\n,,\n"))
    assert sheet.rows == [["a", "b", "c"], ["1"], [], ["1", "2", "3", "4"], ["", "", ""]]
    table = build_table(sheet)  # and the rows line up with what a spreadsheet shows
    assert table.rows == [2, 4]


def test_crlf_and_cr_inside_quotes(tmp_path: Path) -> None:
    sheet = read_csv(put(tmp_path, b'a,b\r\n"x\r\ny",2\r\n'))
    assert sheet.rows == [["a", "b"], ["x\r\ny", "2"]]


def test_empty_file(tmp_path: Path) -> None:
    assert read_csv(put(tmp_path, b"")).rows == []


# --------------------------------------------------------------------------- refusals


def test_xlsx_renamed_to_csv_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    path = put(tmp_path, buffer.getvalue(), "export.csv")
    with pytest.raises(WorkbookUnreadable, match="xlsx") as caught:
        read_csv(path)
    assert str(path) in caught.value.message
    assert caught.value.hint is not None and "export.xlsx" in caught.value.hint


def test_old_xls_renamed_to_csv_refused(tmp_path: Path) -> None:
    path = put(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "export.csv")
    with pytest.raises(WorkbookUnreadable, match=r"\.xls"):
        read_csv(path)


def test_binary_file_refused(tmp_path: Path) -> None:
    path = put(tmp_path, b"\x7fELF\x02\x01\x01\x00\x00\x00" + os.urandom(256))
    with pytest.raises(WorkbookUnreadable, match="binary"):
        read_csv(path)


def test_size_limit(tmp_path: Path) -> None:
    path = put(tmp_path, b"a,b\n" * 100)
    with pytest.raises(WorkbookUnreadable, match="more than the limit"):
        read_csv(path, max_bytes=100)
    assert len(read_csv(path, max_bytes=400).rows) == 100


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkbookUnreadable, match="no such file"):
        read_csv(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- formula guard


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ('=HYPERLINK("http://evil","click")', '\'=HYPERLINK("http://evil","click")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("-A1", "'-A1"),
        ("+1 415 CALL NOW", "'+1 415 CALL NOW"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("=5", "'=5"),
        ("-5", "-5"),
        ("-3.5", "-3.5"),
        ("+3.5", "+3.5"),
        ("-1.2E+3", "-1.2E+3"),
        ("+8613800138000", "+8613800138000"),
        ("+1 415 555 0134", "+1 415 555 0134"),
        ("+86 (10) 6552-9988", "+86 (10) 6552-9988"),
        ("-", "-"),
        ("Ada", "Ada"),
        ("", ""),
        ("a=1", "a=1"),
        ("'=1", "'=1"),
        ("5-2", "5-2"),
    ],
)
def test_guard_cell(text: str, expected: str) -> None:
    assert guard_cell(text) == expected


def test_guard_is_idempotent() -> None:
    for text in ["=1+1", "-2+3", "@x", "+8613800138000", "plain"]:
        assert guard_cell(guard_cell(text)) == guard_cell(text)


# --------------------------------------------------------------------------- writing


def test_write_defaults_to_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_csv(path, CHINESE)
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data == codecs.BOM_UTF8 + CHINESE_TEXT.replace("\n", "\r\n").encode("utf-8")


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "round.csv"
    rows = [*ROWS, ["00125", "陈", "+1 415 555 0134", "", 'multi\nline, "quoted"'], ["x"]]
    write_csv(path, rows)
    assert read_csv(path) == RawSheet(name="round", rows=rows)


def test_round_trip_with_guarded_formulas(tmp_path: Path) -> None:
    path = tmp_path / "guarded.csv"
    write_csv(path, [["a", "b"], ["=1+1", "-5"], ["@SUM(A1)", "-2+3"]])
    assert read_csv(path).rows == [["a", "b"], ["'=1+1", "-5"], ["'@SUM(A1)", "'-2+3"]]
    write_csv(path, [["=1+1"]], guard_formulas=False)
    assert read_csv(path).rows == [["=1+1"]]


def test_round_trip_other_encoding(tmp_path: Path) -> None:
    path = tmp_path / "gb.csv"
    write_csv(path, CHINESE, encoding="gb18030")
    assert not path.read_bytes().startswith(codecs.BOM_UTF8)
    assert read_csv(path).rows == CHINESE


def test_values_become_text(tmp_path: Path) -> None:
    path = tmp_path / "typed.csv"
    write_csv(
        path,
        [
            [
                1,
                -5,
                2.5,
                274.65999999999997,
                12.0,
                Decimal("-1.50"),
                True,
                None,
                dt.date(2024, 1, 31),
                dt.datetime(2024, 1, 31, 9, 30),
                dt.datetime(2024, 2, 1),
            ]
        ],
    )
    assert read_csv(path).rows == [
        ["1", "-5", "2.5", "274.66", "12", "-1.50", "TRUE", "", "2024-01-31", "2024-01-31T09:30:00", "2024-02-01"]
    ]


def test_write_replaces_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o640)
    write_csv(path, [["new"]])
    assert read_csv(path).rows == [["new"]]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert path.stat().st_mode & 0o777 == 0o640


def test_failed_write_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_bytes(b"old,file\n")

    def rows() -> list[list[object]]:
        return [["fine"], ["中文"]]

    with pytest.raises(InputError, match="row 2, column 1 holds text that latin-1 cannot encode"):
        write_csv(path, rows(), encoding="latin-1")
    assert path.read_bytes() == b"old,file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_string_is_not_a_row(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="row 1 is a str"):
        write_csv(tmp_path / "x.csv", ["abc"])
    assert list(tmp_path.iterdir()) == []


def test_rows_from_a_generator(tmp_path: Path) -> None:
    path = tmp_path / "gen.csv"
    write_csv(path, ([str(i), i * 2] for i in range(3)))
    assert read_csv(path).rows == [["0", "0"], ["1", "2"], ["2", "4"]]
