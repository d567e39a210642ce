"""The zip layer of an .xlsx package: list and read parts, and write a new package part by part.

An .xlsx file is a zip of XML parts. Saving through a spreadsheet library re-encodes every part
and drops whatever the library does not model. :func:`rewrite_package` instead copies each part
nobody touches as it is in the source (its local header and its *compressed* bytes, byte for
byte, never decompressed) and streams only the parts a caller rewrites or adds, so the output
differs from the source exactly where the caller asked and nowhere else::

    >>> report = rewrite_package(
    ...     Path("crm.xlsx"), Path("crm.xlsx.tmp"),
    ...     rewrite={"xl/worksheets/sheet1.xml": lambda old: fix_cells(old)},
    ... )  # doctest: +SKIP
    >>> report.rewritten  # doctest: +SKIP
    ('xl/worksheets/sheet1.xml',)

Rules the writer keeps, and why:

- Entries keep their order; added parts go at the end. Some readers look at the first entries
  (``[Content_Types].xml``, ``mimetype``) without reading the central directory.
- Data descriptors are dropped: the sizes and CRC go into the local header instead (flag bit 3
  cleared), because a copied entry's sizes are known and streaming readers then need no guessing.
- ZIP64 structures are normalised away and a package that would need them is refused with
  :class:`~sheetcrm.errors.WriteRefused`: a CRM workbook over 4 GiB or 65,534 parts is not one a
  spreadsheet program can open anyway, and no ZIP64 code means none to get wrong.
- Memory stays bounded by the chunk size: no part is ever held whole.

Part names are matched exactly, as zip member names; OPC treats names that differ only in case as
the same part, so a package holding two such names is refused as damaged and an added part may not
collide with an existing one in any case.
"""

from __future__ import annotations

import queue
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, TypeAlias

from sheetcrm.errors import WorkbookUnreadable, WriteRefused

__all__ = [
    "DeflatedPart",
    "DeflatingSpool",
    "PackageReport",
    "PartWriter",
    "open_part",
    "part_names",
    "read_part",
    "rewrite_package",
]

PartWriter: TypeAlias = Callable[[IO[bytes] | None], Iterable[bytes]]
"""Given the old part's decompressed content as a readable stream (None for a new part),
yields the new content in chunks."""


@dataclass(frozen=True)
class PackageReport:
    """What :func:`rewrite_package` did with each part, every tuple in package order."""

    copied: tuple[str, ...]
    """Parts copied raw: local header fields and compressed bytes exactly as in the source."""
    rewritten: tuple[str, ...]
    """Parts whose content was replaced by their writer's output, in their old place."""
    added: tuple[str, ...]
    """New parts, written after every existing one."""
    removed: tuple[str, ...]
    """Parts left out of the new package."""


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CENTRAL_HEADER = struct.Struct("<4s4B4HL2L5H2L")
_END_RECORD = struct.Struct("<4s4H2LH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_END_SIGNATURE = b"PK\x05\x06"
_CRC_FIELD = 14  # offset of crc, compressed size, uncompressed size inside a local header

_FLAG_ENCRYPTED = 0x0001
_FLAG_DATA_DESCRIPTOR = 0x0008
_FLAG_UTF8 = 0x0800
_EXTRA_ZIP64 = 0x0001
_EXTRA_AES = 0x9901  # describes encrypted data; wrong on a part we rewrite in the clear

# 0xFFFFFFFF and 0xFFFF are the markers meaning "the real value is in a ZIP64 record", so a value
# written without ZIP64 must stay below them.
_SIZE_LIMIT = 0xFFFFFFFF
_ENTRY_LIMIT = 0xFFFF

_VERSION_DEFLATE = 20  # "2.0": deflate, what a reader needs for the parts we write
_SYSTEM_MSDOS = 0  # what Excel writes as "version made by" host for its parts
_DOS_1980_01_01 = (0x0021, 0x0000)  # date, time: the timestamp Excel gives every part
_CHUNK = 1 << 20
_READ_LIMIT = 100 * 1024 * 1024

_HINT_FRESH_COPY = "the file is damaged; restore a good copy (a backup, or save it again from Excel)"
_HINT_TOO_LARGE = "split the data over several workbooks, or archive old rows to another file"


def part_names(source: Path) -> list[str]:
    """The names of the parts (zip entries) in package order.

    >>> part_names(Path("crm.xlsx"))[:2]  # doctest: +SKIP
    ['[Content_Types].xml', '_rels/.rels']
    """
    with _open_archive(Path(source)) as archive:
        return [info.filename for info in archive.infolist()]


def read_part(source: Path, name: str, *, limit: int = _READ_LIMIT) -> bytes:
    """A small part's whole decompressed content (workbook.xml, rels, styles).

    Refuses (WorkbookUnreadable) a part larger than ``limit`` bytes rather than filling memory;
    read big parts such as worksheets with :func:`open_part`.

    >>> read_part(Path("crm.xlsx"), "xl/workbook.xml")[:5]  # doctest: +SKIP
    b'<?xml'
    """
    with open_part(source, name) as stream:
        content = stream.read(limit + 1)
    if len(content) > limit:
        raise WorkbookUnreadable(
            source,
            f"part {name} is larger than {limit:,} bytes, too large to read whole",
            hint="if the workbook is genuine, this is a bug in sheetcrm: big parts must be streamed",
        )
    return content


@contextmanager
def open_part(source: Path, name: str) -> Iterator[IO[bytes]]:
    """A readable stream of one part's decompressed content, for parts too big to read whole.

    The CRC is checked when the stream reaches its end; a damaged part raises WorkbookUnreadable.

    >>> with open_part(Path("crm.xlsx"), "xl/worksheets/sheet1.xml") as stream:  # doctest: +SKIP
    ...     head = stream.read(1024)
    """
    source = Path(source)
    with _open_archive(source) as archive:
        try:
            info = archive.getinfo(name)
        except KeyError:
            raise WorkbookUnreadable(source, f"the package has no part named {name!r}") from None
        with _open_member(source, archive, info) as stream, _reading(source, name):
            yield stream


def rewrite_package(
    source: Path,
    target: Path,
    *,
    rewrite: Mapping[str, PartWriter | DeflatedPart] = {},
    add: Mapping[str, PartWriter] = {},
    remove: Collection[str] = (),
) -> PackageReport:
    """Write a new package at ``target``: ``source`` with some parts rewritten, added or removed.

    Every part not named is copied raw: its local header and compressed bytes are the source's,
    byte for byte. A rewritten part keeps its name, place, timestamp and attributes, and gets the
    chunks its writer yields (given the old content as a stream), deflated on the fly. Added
    parts go at the end. ``target`` is created or truncated, written, flushed and closed; making it
    a temporary file, syncing it and moving it into place is the caller's job, as is deleting it
    when this function raises (it may then hold a partial package).

    Raises ValueError for a name to rewrite or remove that is not in the package, a name to add
    that is, or ``target`` being ``source``; WorkbookUnreadable when ``source`` is not a readable
    zip; WriteRefused when the new package would need ZIP64 (4 GiB, 65,535 parts).

    >>> rewrite_package(
    ...     Path("in.xlsx"), Path("out.xlsx"),
    ...     rewrite={"xl/worksheets/sheet1.xml": lambda old: [old.read().replace(b"42", b"43")]},
    ...     remove=["docProps/custom.xml"],
    ... ).copied[:2]  # doctest: +SKIP
    ('[Content_Types].xml', '_rels/.rels')
    """
    source, target = Path(source), Path(target)
    _refuse_same_file(source, target)
    copied: list[str] = []
    rewritten: list[str] = []
    removed: list[str] = []
    removing = set(remove)
    with _open_archive(source) as archive, source.open("rb") as raw:
        infos = archive.infolist()
        _check_names(infos, rewrite, add, removing)
        entries = len(infos) - len(removing) + len(add)
        if entries >= _ENTRY_LIMIT:
            raise _too_large(source, f"{entries:,} parts, the limit is {_ENTRY_LIMIT - 1:,}")
        source_size = raw.seek(0, 2)
        with target.open("wb") as out:
            central: list[bytes] = []
            for info in infos:
                name = info.filename
                if name in removing:
                    removed.append(name)
                    continue
                local = _read_local(source, raw, info, source_size)
                content = rewrite.get(name)
                if isinstance(content, DeflatedPart):
                    central.append(_write_rewritten(source, out, info, local, content))
                    rewritten.append(name)
                elif content is not None:
                    with _open_member(source, archive, info) as old:
                        central.append(_write_rewritten(source, out, info, local, content(old)))
                    rewritten.append(name)
                else:
                    central.append(_copy_raw(source, raw, out, info, local))
                    copied.append(name)
            for name, writer in add.items():
                central.append(_write_added(source, out, name, writer(None)))
            _write_end(source, out, central, archive.comment)
            out.flush()
    return PackageReport(tuple(copied), tuple(rewritten), tuple(add), tuple(removed))


@dataclass(frozen=True)
class _Local:
    """A source entry's local header, as read at its ZipInfo.header_offset."""

    raw: bytes
    version: int
    flags: int
    method: int
    time: int
    date: int
    name: bytes
    extra: bytes
    data_offset: int


def _read_local(source: Path, raw: BinaryIO, info: zipfile.ZipInfo, source_size: int) -> _Local:
    """Read and check the local header of ``info``; the compressed bytes follow it."""
    raw.seek(info.header_offset)
    fixed = raw.read(_LOCAL_HEADER.size)
    if len(fixed) != _LOCAL_HEADER.size or not fixed.startswith(_LOCAL_SIGNATURE):
        raise _damaged(source, f"the local header of {info.filename} is missing or damaged")
    _, version, flags, method, time, date, _, _, _, name_length, extra_length = _LOCAL_HEADER.unpack(fixed)
    variable = raw.read(name_length + extra_length)
    name = variable[:name_length]
    if len(variable) != name_length + extra_length or name != _name_bytes(info):
        raise _damaged(source, f"the local header of {info.filename} does not match the central directory")
    data_offset = info.header_offset + len(fixed) + len(variable)
    if data_offset + info.compress_size > source_size:
        raise _damaged(source, f"part {info.filename} is cut short: the file is truncated")
    return _Local(fixed + variable, version, flags, method, time, date, name, variable[name_length:], data_offset)


def _copy_raw(source: Path, raw: BinaryIO, out: BinaryIO, info: zipfile.ZipInfo, local: _Local) -> bytes:
    """Copy one entry untouched; returns its central directory record."""
    if info.flag_bits & _FLAG_ENCRYPTED and local.flags & _FLAG_DATA_DESCRIPTOR:
        # With a data descriptor, the password check byte is taken from the time, not the CRC:
        # dropping the descriptor as everywhere else would make the part undecryptable.
        raise WorkbookUnreadable(
            source,
            f"part {info.filename} is encrypted at the zip level (Excel never does this) and cannot be copied as it is",
            hint="open the file in the program that made it and save it as .xlsx without zip encryption",
        )
    offset = out.tell()
    header = local.raw
    extra = _without_zip64(local.extra)
    if local.flags & _FLAG_DATA_DESCRIPTOR or extra != local.extra:
        # The sizes were not known when the header was written (or sit in a ZIP64 record): take
        # them from the central directory and drop the descriptor that carried them.
        header = _local_header(
            local.version,
            local.flags & ~_FLAG_DATA_DESCRIPTOR,
            local.method,
            local.time,
            local.date,
            info.CRC,
            info.compress_size,
            info.file_size,
            local.name,
            extra,
        )
    _check_fits(source, offset + len(header) + info.compress_size, info.filename)
    out.write(header)
    raw.seek(local.data_offset)
    remaining = info.compress_size
    while remaining:
        block = raw.read(min(_CHUNK, remaining))
        if not block:
            raise _damaged(source, f"part {info.filename} is cut short: the file is truncated")
        out.write(block)
        remaining -= len(block)
    return _central_record(
        info,
        flags=info.flag_bits & ~_FLAG_DATA_DESCRIPTOR,
        method=info.compress_type,
        crc=info.CRC,
        compressed=info.compress_size,
        size=info.file_size,
        offset=offset,
    )


def _write_rewritten(
    source: Path, out: BinaryIO, info: zipfile.ZipInfo, local: _Local, content: Iterable[bytes] | DeflatedPart
) -> bytes:
    """Write a rewritten part in its old place with its old name, time and attributes."""
    flags = info.flag_bits & _FLAG_UTF8
    offset = out.tell()
    extra = _without(local.extra, {_EXTRA_ZIP64, _EXTRA_AES})
    header = _local_header(
        _VERSION_DEFLATE, flags, zipfile.ZIP_DEFLATED, local.time, local.date, 0, 0, 0, local.name, extra
    )
    if isinstance(content, DeflatedPart):
        crc, compressed, size = _write_deflated(source, out, header, content, info.filename)
    else:
        crc, compressed, size = _write_streamed(source, out, header, content, info.filename)
    return _central_record(
        info,
        flags=flags,
        method=zipfile.ZIP_DEFLATED,
        crc=crc,
        compressed=compressed,
        size=size,
        offset=offset,
        version=_VERSION_DEFLATE,
        extra=_without(info.extra, {_EXTRA_ZIP64, _EXTRA_AES}),
    )


def _write_added(source: Path, out: BinaryIO, name: str, chunks: Iterable[bytes]) -> bytes:
    """Write a new part at the current end, stamped the way Excel stamps its parts."""
    flags = 0 if name.isascii() else _FLAG_UTF8
    encoded = name.encode("utf-8")
    date, time = _DOS_1980_01_01
    offset = out.tell()
    header = _local_header(_VERSION_DEFLATE, flags, zipfile.ZIP_DEFLATED, time, date, 0, 0, 0, encoded, b"")
    crc, compressed, size = _write_streamed(source, out, header, chunks, name)
    return (
        _CENTRAL_HEADER.pack(
            _CENTRAL_SIGNATURE,
            _VERSION_DEFLATE,
            _SYSTEM_MSDOS,
            _VERSION_DEFLATE,
            0,
            flags,
            zipfile.ZIP_DEFLATED,
            time,
            date,
            crc,
            compressed,
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        + encoded
    )


def _write_streamed(
    source: Path, out: BinaryIO, header: bytes, chunks: Iterable[bytes], name: str
) -> tuple[int, int, int]:
    """Write ``header``, then the chunks deflated; patch crc and sizes into the header afterwards.

    Returns (crc, compressed size, uncompressed size).
    """
    start = out.tell()
    data_start = start + len(header)
    _check_fits(source, data_start, name)
    out.write(header)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    crc = size = compressed = 0
    for chunk in _source_checked(source, name, chunks):
        if not chunk:
            continue
        size += len(chunk)
        if size >= _SIZE_LIMIT:
            raise _too_large(source, f"part {name} holds 4 GiB or more")
        crc = zlib.crc32(chunk, crc)
        deflated = compressor.compress(chunk)
        if deflated:
            compressed += len(deflated)
            _check_fits(source, data_start + compressed, name)
            out.write(deflated)
    deflated = compressor.flush()
    compressed += len(deflated)
    _check_fits(source, data_start + compressed, name)
    out.write(deflated)
    end = out.tell()
    out.seek(start + _CRC_FIELD)
    out.write(struct.pack("<3L", crc, compressed, size))
    out.seek(end)
    return crc, compressed, size


def _write_deflated(source: Path, out: BinaryIO, header: bytes, part: DeflatedPart, name: str) -> tuple[int, int, int]:
    """Write ``header`` and a part compressed beforehand; patch crc and sizes into the header."""
    start = out.tell()
    _check_fits(source, start + len(header) + part.compressed, name)
    out.write(header)
    part.data.seek(0)
    remaining = part.compressed
    while remaining:
        block = part.data.read(min(_CHUNK, remaining))
        if not block:
            raise OSError(f"the spooled content of {name} is shorter than it was")
        out.write(block)
        remaining -= len(block)
    end = out.tell()
    out.seek(start + _CRC_FIELD)
    out.write(struct.pack("<3L", part.crc, part.compressed, part.size))
    out.seek(end)
    return part.crc, part.compressed, part.size


@dataclass(frozen=True)
class DeflatedPart:
    """A part's new content, deflated ahead of time (see :class:`DeflatingSpool`)."""

    data: IO[bytes]  # raw deflate data from offset 0
    crc: int
    size: int  # uncompressed
    compressed: int


class DeflatingSpool:
    """Deflate a part's new content into a file while the caller goes on producing it.

    zlib releases the GIL, so compressing in a thread overlaps with Python code making the
    content (a sheet's rows): on two cores a large part costs about the larger of the two,
    not their sum. :meth:`finish` waits for the thread and returns the :class:`DeflatedPart`.
    """

    def __init__(self, data: IO[bytes], *, level: int = 6) -> None:
        self._data = data
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)  # bounds memory: 4 chunks in flight
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        self._crc = self._size = self._compressed = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sheetcrm-deflate", daemon=True)
        self._thread.start()

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        if chunk:
            self._queue.put(chunk)

    def finish(self) -> DeflatedPart:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._data.flush()
        return DeflatedPart(self._data, self._crc, self._size, self._compressed)

    def abandon(self) -> None:
        """Stop the thread without finishing (the content is not wanted)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        try:
            while (chunk := self._queue.get()) is not None:
                if self._error is None:
                    self._take(chunk)
            if self._error is None:
                self._put(self._compressor.flush())
        except BaseException as error:  # handed to the producing thread
            self._error = error
            while self._queue.get() is not None:  # drain, so the producer never blocks
                pass

    def _take(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size >= _SIZE_LIMIT:
            raise WriteRefused(f"a part of 4 GiB or more cannot be written: {_HINT_TOO_LARGE}")
        self._crc = zlib.crc32(chunk, self._crc)
        self._put(self._compressor.compress(chunk))

    def _put(self, deflated: bytes) -> None:
        if deflated:
            self._data.write(deflated)
            self._compressed += len(deflated)


def _source_checked(source: Path, name: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The writer's chunks, with a damaged old part (read by the writer) reported as such."""
    iterator = iter(chunks)
    try:
        while True:
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                raise _damaged(source, f"cannot read part {name} ({error})") from None
            yield chunk
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # a generator writer gets to run its cleanup even when we stop early


def _write_end(source: Path, out: BinaryIO, central: list[bytes], comment: bytes) -> None:
    """Write the central directory and the end record carrying the archive comment."""
    directory_offset = out.tell()
    for record in central:
        out.write(record)
    directory_size = out.tell() - directory_offset
    _check_fits(source, directory_offset + directory_size, "the central directory")
    out.write(
        _END_RECORD.pack(
            _END_SIGNATURE, 0, 0, len(central), len(central), directory_size, directory_offset, len(comment)
        )
        + comment
    )


def _local_header(
    version: int,
    flags: int,
    method: int,
    time: int,
    date: int,
    crc: int,
    compressed: int,
    size: int,
    name: bytes,
    extra: bytes,
) -> bytes:
    return (
        _LOCAL_HEADER.pack(
            _LOCAL_SIGNATURE, version, flags, method, time, date, crc, compressed, size, len(name), len(extra)
        )
        + name
        + extra
    )


def _central_record(
    info: zipfile.ZipInfo,
    *,
    flags: int,
    method: int,
    crc: int,
    compressed: int,
    size: int,
    offset: int,
    version: int | None = None,
    extra: bytes | None = None,
) -> bytes:
    """A central directory record with the source entry's fields except those given."""
    name = _name_bytes(info)
    extra = _without_zip64(info.extra) if extra is None else extra
    year, month, day, hour, minute, second = info.date_time
    # zipfile split the raw DOS fields bit by bit; putting them back gives the source's exact bits.
    date = (year - 1980) << 9 | month << 5 | day
    time = hour << 11 | minute << 5 | second // 2
    return (
        _CENTRAL_HEADER.pack(
            _CENTRAL_SIGNATURE,
            info.create_version,
            info.create_system,
            info.extract_version if version is None else version,
            info.reserved if version is None else 0,
            flags,
            method,
            time,
            date,
            crc,
            compressed,
            size,
            len(name),
            len(extra),
            len(info.comment),
            0,
            info.internal_attr,
            info.external_attr,
            offset,
        )
        + name
        + extra
        + info.comment
    )


def _name_bytes(info: zipfile.ZipInfo) -> bytes:
    """The entry name as the central directory stored it (zipfile decoded it one of these two ways)."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & _FLAG_UTF8 else "cp437")


def _without_zip64(extra: bytes) -> bytes:
    return _without(extra, {_EXTRA_ZIP64})


def _without(extra: bytes, kinds: Collection[int]) -> bytes:
    """``extra`` without the extra-field blocks of the given kinds; unchanged if it does not parse."""
    kept: list[bytes] = []
    position = 0
    while position + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, position)
        end = position + 4 + length
        if end > len(extra):
            return extra
        if kind not in kinds:
            kept.append(extra[position:end])
        position = end
    if position != len(extra):
        return extra  # trailing padding some writers leave: keep the field exactly as it was
    return b"".join(kept)


def _check_names(
    infos: list[zipfile.ZipInfo],
    rewrite: Mapping[str, object],
    add: Mapping[str, PartWriter],
    remove: Collection[str],
) -> None:
    present = {info.filename for info in infos}
    missing = sorted((set(rewrite) | set(remove)) - present)
    if missing:
        raise ValueError(f"no part named {', '.join(map(repr, missing))} in the package to rewrite or remove")
    both = sorted(set(rewrite) & set(remove))
    if both:
        raise ValueError(f"{', '.join(map(repr, both))}: a part cannot be both rewritten and removed")
    folded = {name.casefold(): name for name in present}
    for name in add:
        if not name or name.startswith("/") or name.endswith("/") or "\\" in name:
            raise ValueError(f"{name!r} is not a part name (like 'xl/worksheets/sheet2.xml')")
        if name.casefold() in folded:
            raise ValueError(
                f"cannot add {name!r}: the package already has {folded[name.casefold()]!r}; use rewrite= to replace it"
            )
        folded[name.casefold()] = name


def _refuse_same_file(source: Path, target: Path) -> None:
    same = source.resolve() == target.resolve()
    if not same and target.exists():
        try:
            same = source.samefile(target)
        except OSError:
            same = False
    if same:
        raise ValueError(f"{target}: the target must be a new file, not the source package itself")


def _check_fits(source: Path, position: int, what: str) -> None:
    if position >= _SIZE_LIMIT:
        raise _too_large(source, f"{what} would end past 4 GiB")


def _too_large(source: Path, detail: str) -> WriteRefused:
    return WriteRefused(
        f"{source}: the package is too large for this writer ({detail}; ZIP64 is not written)", hint=_HINT_TOO_LARGE
    )


def _damaged(source: Path, reason: str) -> WorkbookUnreadable:
    return WorkbookUnreadable(source, f"a damaged zip archive: {reason}", hint=_HINT_FRESH_COPY)


@contextmanager
def _open_archive(source: Path) -> Iterator[zipfile.ZipFile]:
    """Open the source zip, turning every way that fails into WorkbookUnreadable."""
    try:
        archive = zipfile.ZipFile(source)
    except FileNotFoundError:
        raise WorkbookUnreadable(source, "no such file", hint="check the path and the file name") from None
    except IsADirectoryError:
        raise WorkbookUnreadable(source, "this is a directory, not a workbook file") from None
    except OSError as error:
        raise WorkbookUnreadable(source, f"cannot read the file: {error.strerror or error}") from None
    except zipfile.BadZipFile as error:
        raise WorkbookUnreadable(
            source, f"not a zip archive, or a damaged one ({error}); an .xlsx file is a zip", hint=_HINT_FRESH_COPY
        ) from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError, struct.error) as error:
        raise _damaged(source, f"bad central directory ({error})") from None
    with archive:
        seen: dict[str, str] = {}
        for info in archive.infolist():
            folded = info.filename.casefold()
            if folded in seen:
                # Part names are case-insensitive in OPC, and two readers may pick different copies.
                raise _damaged(source, f"two parts named {seen[folded]!r} and {info.filename!r}, a tampered file")
            seen[folded] = info.filename
        yield archive


@contextmanager
def _open_member(source: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[IO[bytes]]:
    """Open one member for reading, turning the ways that fails into WorkbookUnreadable."""
    try:
        stream = archive.open(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError, struct.error) as error:
        # RuntimeError: zip-level encryption; NotImplementedError: a compression method zipfile lacks.
        raise _damaged(source, f"cannot open part {info.filename} ({error})") from None
    with stream:
        yield stream


@contextmanager
def _reading(source: Path, name: str) -> Iterator[None]:
    """Report a part found damaged while it is read (bad CRC, bad deflate data, cut short)."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise _damaged(source, f"cannot read part {name} ({error})") from None
