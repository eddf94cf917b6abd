"""Text out of a PDF for assertions: pypdf or poppler's pdftotext when installed, else a small reader
of WeasyPrint's output (Flate streams, ToUnicode maps, hex-glyph TJ/Tj strings), so the test never skips."""
from __future__ import annotations

import re
import shutil
import subprocess
import zlib


def pdf_text(data: bytes) -> str:
    try:
        import io

        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    except ImportError:
        pass
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return builtin_pdf_text(data)


def _streams(data: bytes) -> list[bytes]:
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        raw = match.group(1)
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            out.append(raw)
    return out


def _cmap(stream: bytes) -> dict[str, str]:
    mapping = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.DOTALL):
        for src, dst in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            mapping[src.decode().lower()] = bytes.fromhex(dst.decode()).decode("utf-16-be", "ignore")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.DOTALL):
        for lo, hi, dst in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            width = len(lo)
            start = int(dst, 16)
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[f"{code:0{width}x}"] = chr(start + offset)
    return mapping


def builtin_pdf_text(data: bytes) -> str:
    streams = _streams(data)
    mapping: dict[str, str] = {}
    for stream in streams:
        if b"begincmap" in stream:
            mapping.update(_cmap(stream))
    width = len(next(iter(mapping), "0000")) or 4
    words = []
    for stream in streams:
        if b"begincmap" in stream:
            continue
        for array in re.findall(rb"\[(.*?)\]\s*TJ|<([0-9a-fA-F]+)>\s*Tj", stream, re.DOTALL):
            chunk = array[0] or b"<" + array[1] + b">"
            text = ""
            for hexstr in re.findall(rb"<([0-9a-fA-F]*)>", chunk):
                h = hexstr.decode().lower()
                text += "".join(mapping.get(h[i:i + width], "") for i in range(0, len(h), width))
            words.append(text)
    return " ".join(words)
