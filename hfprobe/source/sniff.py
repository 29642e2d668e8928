"""What a file holds, from its first bytes, where its name says weights: the usual stand-ins for them (a Git LFS
pointer, a saved web page), a weights file of another format under the name (`renamed`), and its first bytes in words
for a line that says what it is not. The readers (safetensors, GGUF, pickles) ask on their error paths only.
"""

from __future__ import annotations

import re


def not_weights(head: bytes) -> str | None:
    """What a file named as weights holds instead, from its first bytes, where it is one of the usual stand-ins, and
    how to get the weights; None otherwise. A clone made without Git LFS holds pointers, and a Hub `/blob/` link
    saves the web page that shows the file.

    >>> not_weights(b"version https://git-lfs.github.com/spec/v1\\noid sha256:4d7a")[:22]
    'a Git LFS pointer, not'
    """
    if head.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer, not the weights; run `git lfs pull` in the clone, or download the file"
    if head[:512].lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return (
            "a web page, not the weights (a Hub `/blob/` link saves the page that shows the file); download it "
            "with `/resolve/` in the URL, or with `hf download`"
        )
    return None


def renamed(head: bytes) -> tuple[str, str] | None:
    """(what, suffix) of a weights file recognised by its first bytes (16 are enough), where the name says another
    format: a torch file or pickle, a GGUF or a safetensors file, and the suffix hfprobe reads it by; else None.

    >>> renamed(b"PK\\x03\\x04" + bytes(12)), renamed(b"GGUF\\x03" + bytes(11))
    (('a torch file (a zip archive)', '.pt'), ('a GGUF file', '.gguf'))
    """
    if head.startswith(b"PK\x03\x04"):
        return "a torch file (a zip archive)", ".pt"
    # a pickle: PROTO, then torch's magic number (LONG1), a frame or a dict (a safetensors header 640 bytes long
    # begins 80 02 00: no pickle opcode follows PROTO as 00)
    if head[:1] == b"\x80" and head[1:2] in b"\x02\x03\x04\x05" and head[2:3] in (b"\x8a", b"\x95", b"}", b"c"):
        return "a torch pickle", ".bin"
    if head.startswith(b"GGUF"):
        return "a GGUF file", ".gguf"
    if len(head) > 9 and head[8:10] == b'{"' and int.from_bytes(head[:8], "little") < 100 * 1024 * 1024:
        return "a safetensors file", ".safetensors"
    return None


def starts_with(data: bytes) -> str:
    """The first bytes of a file: as text where at least four are printable (up to 24), else in hex.

    >>> starts_with(b"<!DOCTYPE html><html>\\n<head>"), starts_with(bytes([0x13, 0xA7, 0x44, 0x0F]))
    ('"<!DOCTYPE html><html>"', 'bytes 13 a7 44 0f')
    """
    text = re.match(rb"[\x20-\x7e]{0,24}", data)[0]
    if len(text) >= 4:
        return '"' + text.decode("ascii") + '"'
    return "bytes " + " ".join(f"{b:02x}" for b in data[:8])
