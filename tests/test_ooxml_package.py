"""The zip layer of the lossless writer: untouched parts copied byte for byte, touched parts streamed."""

from __future__ import annotations

import io
import itertools
import mmap
import random
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import openpyxl
import pytest
from conftest import CUSTOMERS, write_xlsx
from python_calamine import CalamineWorkbook

from sheetcrm.errors import WorkbookUnreadable, WriteRefused
from sheetcrm.sync.ooxml.package import (
    PackageReport,
    PartWriter,
    open_part,
    part_names,
    read_part,
    rewrite_package,
)

LOCAL = struct.Struct("<4s5H3L2H")
CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
END = struct.Struct("<4s4H2LH")
DATA_DESCRIPTOR = 0x08

SHEET = (
    b'<?xml version="1.0"?><worksheet><sheetData>' + b"<row><c><v>1</v></c></row>" * 2000 + b"</sheetData></worksheet>"
)


# --- reading zips the hard way, independently of the code under test ---------------------------


@dataclass(frozen=True)
class RawEntry:
    """One entry as stored: its local header (parsed and raw), compressed bytes and central record."""

    header: bytes
    version: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    compressed_size: int
    size: int
    name: bytes
    extra: bytes
    offset: int
    data_offset: int
    data: bytes


def raw_entries(path: Path) -> dict[str, RawEntry]:
    """Every entry's local header and compressed bytes, read at ZipInfo.header_offset."""
    entries: dict[str, RawEntry] = {}
    with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
        for info in archive.infolist():
            handle.seek(info.header_offset)
            fixed = handle.read(LOCAL.size)
            signature, version, flags, method, time, date, crc, csize, size, name_len, extra_len = LOCAL.unpack(fixed)
            assert signature == b"PK\x03\x04"
            name = handle.read(name_len)
            extra = handle.read(extra_len)
            data_offset = handle.tell()
            data = handle.read(info.compress_size)
            entries[info.filename] = RawEntry(
                fixed + name + extra,
                version,
                flags,
                method,
                time,
                date,
                crc,
                csize,
                size,
                name,
                extra,
                info.header_offset,
                data_offset,
                data,
            )
    return entries


def central_records(path: Path) -> tuple[dict[str, tuple[object, ...]], bytes, int]:
    """Each central directory record's fields (offset last) by name, the archive comment, the entry count."""
    blob = path.read_bytes()
    end = blob.rfind(b"PK\x05\x06")
    _, _, _, _, count, size, offset, comment_length = END.unpack_from(blob, end)
    records: dict[str, tuple[object, ...]] = {}
    position = offset
    while position < offset + size:
        fields = CENTRAL.unpack_from(blob, position)
        name_len, extra_len, comment_len = fields[12:15]
        start = position + CENTRAL.size
        name = blob[start : start + name_len]
        extra = blob[start + name_len : start + name_len + extra_len]
        comment = blob[start + name_len + extra_len : start + name_len + extra_len + comment_len]
        records[name.decode("utf-8")] = (*fields, name, extra, comment)
        position = start + name_len + extra_len + comment_len
    return records, blob[end + END.size : end + END.size + comment_length], count


def without_offset_and_descriptor_flag(record: tuple[object, ...]) -> tuple[object, ...]:
    fields = list(record)
    fields[5] = int(fields[5]) & ~DATA_DESCRIPTOR  # type: ignore[call-overload]
    del fields[18]  # local header offset
    return tuple(fields)


class Unseekable(io.RawIOBase):
    """A write-only stream zipfile cannot seek in, so it writes data descriptors."""

    def __init__(self) -> None:
        self.sink = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        return self.sink.write(data)  # type: ignore[arg-type]


def build_source(path: Path) -> Path:
    """A package with descriptor, deflated, stored, directory and extra-field entries and a comment."""
    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types/>' * 20)
        archive.writestr("xl/sharedStrings.xml", b"<sst>" + b"<si><t>hello</t></si>" * 500 + b"</sst>")
    path.write_bytes(sink.sink.getvalue())
    # Appending keeps the entries above as they are and gives the new ones ordinary local headers.
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("docProps/app.xml", date_time=(2021, 3, 4, 5, 6, 8))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o640 << 16
        info.comment = b"an entry comment"
        info.extra = struct.pack("<HHBL", 0x5455, 5, 1, 1_600_000_000)  # extended timestamp
        archive.writestr(info, b"<Properties>" + b"<x/>" * 300 + b"</Properties>")
        archive.writestr("xl/media/image1.png", random.Random(1).randbytes(20_000), zipfile.ZIP_STORED)
        sheet = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=(2022, 11, 30, 23, 59, 58))
        sheet.compress_type = zipfile.ZIP_DEFLATED
        sheet.external_attr = 0o600 << 16
        archive.writestr(sheet, SHEET)
        archive.writestr("docProps/custom.xml", b"<Properties/>", zipfile.ZIP_DEFLATED)
        archive.mkdir("xl/empty")
        archive.writestr("xl/styles.xml", b"<styleSheet/>" * 100, zipfile.ZIP_DEFLATED, compresslevel=9)
        archive.comment = b"made by a test"
    return path


def chunks_of(stream: IO[bytes] | None, size: int = 4096) -> Iterator[bytes]:
    assert stream is not None
    while block := stream.read(size):
        yield block


def upper_sheet(old: IO[bytes] | None) -> Iterator[bytes]:
    assert old is not None
    yield old.read().replace(b"<v>1</v>", b"<v>2</v>")


def constant(content: bytes) -> PartWriter:
    """A writer that ignores the old content and writes ``content``."""

    def writer(old: IO[bytes] | None) -> Iterator[bytes]:
        yield content

    return writer


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return build_source(tmp_path / "source.zip")


def test_the_source_exercises_descriptors_and_stored_entries(source: Path) -> None:
    entries = raw_entries(source)
    assert entries["[Content_Types].xml"].flags & DATA_DESCRIPTOR
    assert entries["xl/sharedStrings.xml"].flags & DATA_DESCRIPTOR
    assert entries["[Content_Types].xml"].crc == 0  # the real one sits in the descriptor
    assert not entries["docProps/app.xml"].flags & DATA_DESCRIPTOR
    assert entries["xl/media/image1.png"].method == zipfile.ZIP_STORED


# --- rewrite_package ---------------------------------------------------------------------------


def test_untouched_parts_are_copied_byte_for_byte(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.zip"
    report = rewrite_package(
        source,
        target,
        rewrite={"xl/worksheets/sheet1.xml": upper_sheet},
        add={"xl/new.xml": constant(b"<new/>")},
        remove=["docProps/custom.xml"],
    )

    assert report.copied == (
        "[Content_Types].xml",
        "xl/sharedStrings.xml",
        "docProps/app.xml",
        "xl/media/image1.png",
        "xl/empty/",
        "xl/styles.xml",
    )
    before, after = raw_entries(source), raw_entries(target)
    before_central, _, _ = central_records(source)
    after_central, _, _ = central_records(target)
    with zipfile.ZipFile(source) as old_archive, zipfile.ZipFile(target) as new_archive:
        for name in report.copied:
            old, new = before[name], after[name]
            assert new.data == old.data, name
            assert new_archive.getinfo(name).CRC == old_archive.getinfo(name).CRC, name
            assert without_offset_and_descriptor_flag(after_central[name]) == without_offset_and_descriptor_flag(
                before_central[name]
            ), name
            if old.flags & DATA_DESCRIPTOR:
                info = old_archive.getinfo(name)
                assert (new.crc, new.compressed_size, new.size) == (info.CRC, info.compress_size, info.file_size)
                assert new.flags == old.flags & ~DATA_DESCRIPTOR
                assert (new.version, new.method, new.time, new.date, new.name, new.extra) == (
                    old.version,
                    old.method,
                    old.time,
                    old.date,
                    old.name,
                    old.extra,
                )
            else:
                assert new.header == old.header, name
        assert new_archive.testzip() is None


def test_data_descriptors_are_dropped_and_entries_are_contiguous(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.zip"
    rewrite_package(source, target)

    entries = sorted(raw_entries(target).values(), key=lambda entry: entry.offset)
    assert entries[0].offset == 0
    for previous, entry in itertools.pairwise(entries):
        assert entry.offset == previous.data_offset + len(previous.data)
    records, _, _ = central_records(target)
    assert all(not int(record[5]) & DATA_DESCRIPTOR for record in records.values())  # type: ignore[call-overload]
    assert all(not entry.flags & DATA_DESCRIPTOR for entry in entries)


def test_untouched_package_has_the_same_content(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.zip"
    report = rewrite_package(source, target)

    assert report == PackageReport(copied=tuple(part_names(source)), rewritten=(), added=(), removed=())
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target) as new:
        assert new.testzip() is None
        assert [(i.filename, i.CRC, i.file_size) for i in new.infolist()] == [
            (i.filename, i.CRC, i.file_size) for i in old.infolist()
        ]
        for name in new.namelist():
            assert new.read(name) == old.read(name)


def test_rewritten_part_has_new_content_in_its_old_place(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.zip"
    report = rewrite_package(source, target, rewrite={"xl/worksheets/sheet1.xml": upper_sheet})

    assert report.rewritten == ("xl/worksheets/sheet1.xml",)
    assert part_names(target) == part_names(source)
    with zipfile.ZipFile(source) as old_archive, zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert archive.read("xl/worksheets/sheet1.xml") == SHEET.replace(b"<v>1</v>", b"<v>2</v>")
        old, new = old_archive.getinfo("xl/worksheets/sheet1.xml"), archive.getinfo("xl/worksheets/sheet1.xml")
        assert new.date_time == old.date_time == (2022, 11, 30, 23, 59, 58)
        assert (new.external_attr, new.create_system, new.create_version) == (
            old.external_attr,
            old.create_system,
            old.create_version,
        )
        assert new.compress_type == zipfile.ZIP_DEFLATED
        assert not new.flag_bits & DATA_DESCRIPTOR
    local = raw_entries(target)["xl/worksheets/sheet1.xml"]
    assert (local.crc, local.size) == (zlib.crc32(SHEET.replace(b"<v>1</v>", b"<v>2</v>")), len(SHEET))
    assert zlib.decompress(local.data, -15) == SHEET.replace(b"<v>1</v>", b"<v>2</v>")


def test_order_kept_added_parts_last_removed_parts_gone(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.zip"
    report = rewrite_package(
        source,
        target,
        add={"xl/worksheets/sheet2.xml": constant(b"<worksheet/>"), "customXml/é.xml": constant(b"")},
        remove=["docProps/custom.xml", "xl/media/image1.png"],
    )

    expected = [name for name in part_names(source) if name not in ("docProps/custom.xml", "xl/media/image1.png")]
    assert part_names(target) == [*expected, "xl/worksheets/sheet2.xml", "customXml/é.xml"]
    assert report.added == ("xl/worksheets/sheet2.xml", "customXml/é.xml")
    assert report.removed == ("xl/media/image1.png", "docProps/custom.xml")  # in package order
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert archive.read("xl/worksheets/sheet2.xml") == b"<worksheet/>"
        assert archive.read("customXml/é.xml") == b""
        assert archive.getinfo("customXml/é.xml").flag_bits & 0x800  # a UTF-8 name says so


def test_archive_comment_and_entry_comments_are_kept(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.zip"
    rewrite_package(source, target, rewrite={"docProps/app.xml": constant(b"<Properties/>")})

    _, comment, count = central_records(target)
    assert comment == b"made by a test"
    assert count == len(part_names(source))
    with zipfile.ZipFile(target) as archive:
        assert archive.comment == b"made by a test"
        info = archive.getinfo("docProps/app.xml")
        assert info.comment == b"an entry comment"
        assert info.extra == struct.pack("<HHBL", 0x5455, 5, 1, 1_600_000_000)
        assert info.date_time == (2021, 3, 4, 5, 6, 8)
        assert archive.read("docProps/app.xml") == b"<Properties/>"


def test_zip64_records_in_the_source_are_normalised(tmp_path: Path) -> None:
    source = tmp_path / "zip64.zip"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("a.xml", "w", force_zip64=True) as handle:
            handle.write(b"<a/>" * 1000)
        archive.writestr("b.xml", b"<b/>")
    assert struct.unpack_from("<H", raw_entries(source)["a.xml"].extra)[0] == 0x0001
    target = tmp_path / "target.zip"

    rewrite_package(source, target)

    new = raw_entries(target)["a.xml"]
    assert new.extra == b""
    assert new.data == raw_entries(source)["a.xml"].data
    assert (new.compressed_size, new.size) == (len(new.data), 4000)
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert archive.read("a.xml") == b"<a/>" * 1000


def test_streaming_a_50_mb_part_keeps_memory_bounded(source: Path, tmp_path: Path) -> None:
    block = random.Random(7).randbytes(1 << 20)
    consumed: list[int] = []

    def big_sheet(old: IO[bytes] | None) -> Iterator[bytes]:
        consumed.append(sum(len(piece) for piece in chunks_of(old, 64 * 1024)))
        for index in range(50):
            yield bytes([index]) + block[1:]  # a fresh 1 MB chunk each time, as a real writer makes

    target = tmp_path / "target.zip"
    tracemalloc.start()
    try:
        rewrite_package(source, target, rewrite={"xl/worksheets/sheet1.xml": big_sheet})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 20 * 1024 * 1024, f"peak {peak:,} bytes"
    assert consumed == [len(SHEET)]
    expected_crc = 0
    for index in range(50):
        expected_crc = zlib.crc32(bytes([index]) + block[1:], expected_crc)
    with zipfile.ZipFile(target) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        assert (info.file_size, info.CRC) == (50 << 20, expected_crc)
        assert archive.testzip() is None


def test_a_real_workbook_stays_readable_by_openpyxl_and_calamine(tmp_path: Path) -> None:
    source = write_xlsx(tmp_path / "crm.xlsx", {"Customers": [*CUSTOMERS, ["C-000005", "Ann Lee", "", "", 4242]]})
    target = tmp_path / "crm-new.xlsx"
    sheet = "xl/worksheets/sheet1.xml"
    assert read_part(source, sheet).count(b"<v>4242</v>") == 1

    def change_one_cell(old: IO[bytes] | None) -> Iterator[bytes]:
        assert old is not None
        yield old.read().replace(b"<v>4242</v>", b"<v>4343</v>")

    report = rewrite_package(source, target, rewrite={sheet: change_one_cell})

    assert report.rewritten == (sheet,)
    assert set(report.copied) == set(part_names(source)) - {sheet}
    before, after = raw_entries(source), raw_entries(target)
    assert all(after[name].header == before[name].header for name in report.copied)
    assert all(after[name].data == before[name].data for name in report.copied)
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
    book = openpyxl.load_workbook(target)
    assert book["Customers"]["E6"].value == 4343
    assert book["Customers"]["B2"].value == "Zhang Wei"
    rows = CalamineWorkbook.from_path(str(target)).get_sheet_by_name("Customers").to_python()
    assert rows[5][4] == 4343
    assert rows[3][1] == "王芳"


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rewrite": {"xl/nope.xml": constant(b"")}}, r"no part named 'xl/nope\.xml'"),
        ({"remove": ["xl/nope.xml"]}, r"no part named 'xl/nope\.xml'"),
        ({"add": {"xl/styles.xml": constant(b"")}}, r"already has 'xl/styles\.xml'"),
        ({"add": {"XL/Styles.xml": constant(b"")}}, r"already has 'xl/styles\.xml'"),
        ({"add": {"/xl/x.xml": constant(b"")}}, "is not a part name"),
        ({"rewrite": {"xl/styles.xml": constant(b"")}, "remove": ["xl/styles.xml"]}, "both rewritten and removed"),
    ],
)
def test_bad_part_names_are_refused_before_writing(
    source: Path, tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    target = tmp_path / "target.zip"
    with pytest.raises(ValueError, match=message):
        rewrite_package(source, target, **kwargs)  # type: ignore[arg-type]
    assert not target.exists()


def test_target_must_not_be_the_source(source: Path, tmp_path: Path) -> None:
    content = source.read_bytes()
    link = tmp_path / "link.zip"
    link.symlink_to(source)
    hard = tmp_path / "hard.zip"
    hard.hardlink_to(source)

    for target in (source, tmp_path / "." / "source.zip", link, hard):
        with pytest.raises(ValueError, match="must be a new file"):
            rewrite_package(source, target)
    assert source.read_bytes() == content


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"customer_id,name\nC-1,Ann\n", "not a zip archive"),
        (b"", "not a zip archive"),
    ],
)
def test_a_source_that_is_not_a_zip_is_unreadable(tmp_path: Path, content: bytes, reason: str) -> None:
    source = tmp_path / "crm.xlsx"
    source.write_bytes(content)
    calls: list[Callable[[], object]] = [
        lambda: rewrite_package(source, tmp_path / "out.xlsx"),
        lambda: part_names(source),
        lambda: read_part(source, "xl/workbook.xml"),
    ]
    for call in calls:
        with pytest.raises(WorkbookUnreadable, match=reason):
            call()


def test_a_missing_source_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(WorkbookUnreadable, match="no such file"):
        rewrite_package(tmp_path / "nope.xlsx", tmp_path / "out.xlsx")


def test_a_truncated_source_is_unreadable(source: Path, tmp_path: Path) -> None:
    source.write_bytes(source.read_bytes()[:-200])
    with pytest.raises(WorkbookUnreadable) as caught:
        rewrite_package(source, tmp_path / "out.zip")
    assert caught.value.hint


def test_a_damaged_part_is_reported_when_its_writer_reads_it(source: Path, tmp_path: Path) -> None:
    entry = raw_entries(source)["xl/worksheets/sheet1.xml"]
    blob = bytearray(source.read_bytes())
    middle = entry.data_offset + len(entry.data) // 2
    blob[middle : middle + 8] = bytes(8)
    source.write_bytes(bytes(blob))

    with pytest.raises(WorkbookUnreadable, match=r"cannot read part xl/worksheets/sheet1\.xml"):
        rewrite_package(source, tmp_path / "out.zip", rewrite={"xl/worksheets/sheet1.xml": upper_sheet})
    with pytest.raises(WorkbookUnreadable, match=r"xl/worksheets/sheet1\.xml"):
        read_part(source, "xl/worksheets/sheet1.xml")


def test_local_header_not_matching_the_directory_is_unreadable(source: Path, tmp_path: Path) -> None:
    entry = raw_entries(source)["xl/styles.xml"]
    blob = bytearray(source.read_bytes())
    blob[entry.offset + LOCAL.size] = ord("X")  # first letter of the name in the local header
    source.write_bytes(bytes(blob))

    with pytest.raises(WorkbookUnreadable, match="does not match the central directory"):
        rewrite_package(source, tmp_path / "out.zip")


def test_duplicate_part_names_are_refused(tmp_path: Path) -> None:
    source = tmp_path / "dup.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("xl/workbook.xml", b"<one/>")
        archive.writestr("XL/Workbook.xml", b"<two/>")
    with pytest.raises(WorkbookUnreadable, match="two parts named"):
        rewrite_package(source, tmp_path / "out.zip")


def test_too_many_parts_is_refused_before_writing(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.zip"
    add = {f"xl/many/{index}.xml": constant(b"") for index in range(65_535)}
    with pytest.raises(WriteRefused, match="too large for this writer") as caught:
        rewrite_package(source, target, add=add)
    assert caught.value.hint
    assert not target.exists()


def test_a_part_of_4_gib_is_refused(source: Path, tmp_path: Path) -> None:
    # A sparse file mapped into memory is a 4 GiB chunk that costs neither RAM nor disk.
    sparse = tmp_path / "sparse.bin"
    with sparse.open("wb") as sink:
        sink.truncate(4 << 30)
    with sparse.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as huge:

        def writer(old: IO[bytes] | None) -> Iterator[bytes]:
            yield b"<worksheet>"
            yield huge  # type: ignore[misc]

        with pytest.raises(WriteRefused, match="4 GiB") as caught:
            rewrite_package(source, tmp_path / "out.zip", rewrite={"xl/styles.xml": writer})
    assert "too large for this writer" in caught.value.message


# --- reading parts -----------------------------------------------------------------------------


def test_part_names_and_reading_parts(source: Path) -> None:
    assert part_names(source) == [
        "[Content_Types].xml",
        "xl/sharedStrings.xml",
        "docProps/app.xml",
        "xl/media/image1.png",
        "xl/worksheets/sheet1.xml",
        "docProps/custom.xml",
        "xl/empty/",
        "xl/styles.xml",
    ]
    assert read_part(source, "xl/styles.xml") == b"<styleSheet/>" * 100
    with open_part(source, "xl/worksheets/sheet1.xml") as stream:
        assert stream.read(10) == SHEET[:10]
        assert stream.read() == SHEET[10:]


def test_reading_a_missing_or_oversized_part_is_refused(source: Path) -> None:
    with pytest.raises(WorkbookUnreadable, match=r"no part named 'xl/nope\.xml'"):
        read_part(source, "xl/nope.xml")
    with pytest.raises(WorkbookUnreadable, match="too large to read whole"):
        read_part(source, "xl/worksheets/sheet1.xml", limit=1000)
