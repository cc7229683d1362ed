"""Drop debug info from a shared library that ``strip`` cannot handle, without moving what
the loader maps.

auditwheel renames the libraries it vendors into a wheel's ``*.libs`` folder with
patchelf, which appends new segments (a longer ``.dynstr``, ``.dynamic``) at the end of
the file, after the debug sections. GNU strip and llvm-strip both repack such a file into
one whose segments break the loader's rule ``(p_vaddr - p_offset) % p_align == 0``, so
``build.py`` used to keep those libraries as shipped: eckitlib's PROJ copy carries 82 MB
of DWARF that way.

:func:`trim` does less than strip, on purpose. The bytes every program header covers are
copied unchanged, each block of them moved as a whole to a new file offset congruent to
its old one modulo the largest segment alignment, so every segment keeps its virtual
address, sizes, flags and its offset's residue; only non-loaded ``.debug_*``, ``.symtab``
and ``.strtab`` sections are left out (their section headers become inactive ``SHT_NULL``
entries, so no section index changes); other non-loaded sections and the section header
table move to the end. The loader reads program headers only, so it maps the same
image; :func:`trim` checks that byte for byte before it writes anything.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

_SHF_ALLOC = 0x2
_SHT_NOBITS = 8
_DROP_PREFIXES = (".debug_", ".zdebug_")
_DROP_NAMES = (".symtab", ".strtab")
_SHDR = struct.Struct("<IIQQQQIIQQ")  # ELF64 section header
_PHDR = struct.Struct("<IIQQQQQQ")  # ELF64 program header


def _name(shstr: bytes, index: int) -> str:
    return shstr[index:shstr.index(b"\0", index)].decode("ascii", "replace")


def _blocks(data: bytes, phdrs: list[tuple[int, ...]], header_end: int) -> list[list[int]]:
    """The file ranges program headers cover (and the ELF + program headers), merged."""
    spans = sorted([(0, header_end)] + [(p[2], p[2] + p[5]) for p in phdrs if p[5] > 0])
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def trimmed(data: bytes) -> bytes | None:
    """``data`` without its debug sections and static symbol table, laid out as the
    module docstring says; None when there is nothing to drop or the file is not a
    64-bit little-endian ELF this function understands."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 0x36)
    if phentsize != _PHDR.size or shentsize != _SHDR.size or not shnum or shstrndx >= shnum:
        return None
    phdrs = [_PHDR.unpack_from(data, phoff + k * phentsize) for k in range(phnum)]
    shdrs = [list(_SHDR.unpack_from(data, shoff + k * shentsize)) for k in range(shnum)]
    shstr_hdr = shdrs[shstrndx]
    shstr = data[shstr_hdr[4]:shstr_hdr[4] + shstr_hdr[5]]
    blocks = _blocks(data, phdrs, phoff + phnum * phentsize)

    def in_block(off: int, size: int) -> int | None:
        for k, (lo, hi) in enumerate(blocks):
            if lo <= off and off + size <= hi:
                return k
        return None

    drop = {k for k, sh in enumerate(shdrs) if k and not sh[2] & _SHF_ALLOC
            and sh[1] != _SHT_NOBITS and in_block(sh[4], sh[5]) is None
            and (_name(shstr, sh[0]).startswith(_DROP_PREFIXES)
                 or _name(shstr, sh[0]) in _DROP_NAMES)}
    if not drop:
        return None
    align = max([p[7] for p in phdrs if p[7] > 1] or [1])

    out = bytearray()
    shifts = []
    for lo, hi in blocks:  # each block moves whole, to an offset congruent to its old one
        start = len(out) + (lo - len(out)) % align
        out += b"\0" * (start - len(out)) + data[lo:hi]
        shifts.append(start - lo)
    for k, sh in enumerate(shdrs):
        if not k or sh[1] == 0:
            continue
        if k in drop:
            sh[1:] = [0] * 9  # SHT_NULL, no flags, no bytes; the name stays readable
            continue
        inside = in_block(sh[4], 0 if sh[1] == _SHT_NOBITS else sh[5])
        if inside is not None:
            sh[4] += shifts[inside]
        elif sh[2] & _SHF_ALLOC:
            return None  # a loaded section outside every segment: not a layout we know
        else:  # a kept non-loaded section (.shstrtab, .comment, notes): to the end
            out += b"\0" * (-len(out) % max(sh[8], 1))
            new = len(out)
            out += data[sh[4]:sh[4] + sh[5]]
            sh[4] = new
    out += b"\0" * (-len(out) % 8)
    new_shoff = len(out)
    for sh in shdrs:
        out += _SHDR.pack(*sh)
    struct.pack_into("<Q", out, 0x28, new_shoff)
    for k, p in enumerate(phdrs):
        inside = in_block(p[2], p[5])
        if inside is None:
            return None
        struct.pack_into("<Q", out, phoff + k * phentsize + 8, p[2] + shifts[inside])
    if not _same_image(data, bytes(out), phdrs):
        return None
    return bytes(out)


def _same_image(old: bytes, new: bytes, phdrs: list[tuple[int, ...]]) -> bool:
    """Every segment of ``new`` holds the bytes it held in ``old``, keeps every field but
    its offset, and that offset keeps its residue modulo the segment's alignment. The
    first segment maps the ELF header and the program headers too: there the new section
    header offset and the new segment offsets are the only bytes allowed to differ."""
    phoff, = struct.unpack_from("<Q", new, 0x20)
    if new[:0x28] != old[:0x28] or new[0x30:64] != old[0x30:64]:
        return False
    ref = bytearray(old)
    ref[0x28:0x30] = new[0x28:0x30]
    for k, p in enumerate(phdrs):
        at = phoff + k * _PHDR.size
        q = _PHDR.unpack_from(new, at)
        if q[:2] != p[:2] or q[3:] != p[3:]:
            return False
        if p[7] > 1 and (q[3] - q[2]) % p[7]:
            return False
        ref[at:at + _PHDR.size] = new[at:at + _PHDR.size]
    for p, k in zip(phdrs, range(len(phdrs)), strict=True):
        q = _PHDR.unpack_from(new, phoff + k * _PHDR.size)
        if new[q[2]:q[2] + q[5]] != ref[p[2]:p[2] + p[5]]:
            return False
    return True


def trim(path: Path) -> tuple[int, int]:
    """Replace ``path`` by its trimmed copy when there is one (atomic, mode kept).
    Returns (bytes before, bytes after)."""
    data = path.read_bytes()
    new = trimmed(data)
    if new is None or len(new) >= len(data):
        return len(data), len(data)
    tmp = path.with_name(path.name + ".trimmed")
    tmp.write_bytes(new)
    os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)
    return len(data), len(new)


def needed(path: Path) -> list[str]:
    """The DT_NEEDED names of a 64-bit little-endian ELF file (empty for anything else):
    the libraries the loader must find before it can load ``path``."""
    data = path.read_bytes()
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    phdrs = [_PHDR.unpack_from(data, phoff + k * phentsize) for k in range(phnum)]

    def file_offset(vaddr: int) -> int | None:
        for p in phdrs:
            if p[0] == 1 and p[3] <= vaddr < p[3] + p[5]:
                return vaddr - p[3] + p[2]
        return None

    dynamic = next((p for p in phdrs if p[0] == 2), None)  # PT_DYNAMIC
    if dynamic is None:
        return []
    entries = []
    for at in range(dynamic[2], dynamic[2] + dynamic[5] - 15, 16):
        tag, value = struct.unpack_from("<qQ", data, at)
        if tag == 0:  # DT_NULL
            break
        entries.append((tag, value))
    strtab = next((file_offset(v) for t, v in entries if t == 5), None)  # DT_STRTAB
    if strtab is None:
        return []
    return [data[strtab + v:data.index(b"\0", strtab + v)].decode("utf-8", "replace")
            for t, v in entries if t == 1]  # DT_NEEDED
