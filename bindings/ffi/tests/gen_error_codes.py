#!/usr/bin/env python3
"""Rewrites the error-code lists of the Java and C# wrappers from the library.

java/src/main/java/dev/selo/ErrorCodes.java and dotnet/src/ErrorCodes.cs are
hand-readable copies of the core's table (selo_error_code_at), the C
binding's own codes (selo_ffi_error_code_at) and the codes only the host
layers raise (selo_host_error_code_at, selo::HOST_CODES: HTTP drivers, JWKS
fetchers, the wrappers' loaders and handles). This script loads libselo with
ctypes and rewrites only the string lists inside them; scripts/test-ffi then
fails when git sees a difference (stale copy: commit the regenerated file).
Usage: gen_error_codes.py <repo root> <path to libselo.so>
"""
import ctypes
import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
lib = ctypes.CDLL(sys.argv[2])
for name in ("selo_error_code_at", "selo_ffi_error_code_at", "selo_host_error_code_at"):
    getattr(lib, name).restype = ctypes.c_char_p
    getattr(lib, name).argtypes = [ctypes.c_size_t]
for name in ("selo_error_code_count", "selo_ffi_error_code_count", "selo_host_error_code_count"):
    getattr(lib, name).restype = ctypes.c_size_t
    getattr(lib, name).argtypes = []


def codes(prefix):
    n = getattr(lib, f"selo_{prefix}code_count")()
    at = getattr(lib, f"selo_{prefix}code_at")
    out = [at(i).decode("utf-8") for i in range(n)]
    if not out or any(not re.fullmatch(r"[a-z0-9_.]+", c) for c in out):
        sys.exit(f"unexpected {prefix}codes from the library: {out!r}")
    return out


core, ffi, host = codes("error_"), codes("ffi_error_"), codes("host_error_")


def rewrite(path, blocks):
    p = root / path
    text = p.read_text(encoding="utf-8")
    for pattern, items, indent, close in blocks:
        body = ",\n".join(f'{indent}"{c}"' for c in items) + close
        text, n = re.subn(pattern, lambda m: m.group(1) + body, text, count=1, flags=re.S)
        if n != 1:
            sys.exit(f"{path}: no list matching {pattern!r}")
    p.write_text(text, encoding="utf-8")


rewrite(
    "java/src/main/java/dev/selo/ErrorCodes.java",
    [
        (r"(List<String> ALL =\n\s*List\.of\(\n).*?\);", core, "      ", ");"),
        (r"(List<String> FFI =\n\s*List\.of\(\n).*?\);", ffi, "      ", ");"),
        (r"(List<String> HOST =\n\s*List\.of\(\n).*?\);", host, "      ", ");"),
    ],
)
rewrite(
    "dotnet/src/ErrorCodes.cs",
    [
        (r"(IReadOnlyList<string> All = new\[\]\n\s*\{\n).*?\n(?=\s*\};)", core, "            ", "\n"),
        (r"(IReadOnlyList<string> Ffi = new\[\]\n\s*\{\n).*?\n(?=\s*\};)", ffi, "            ", "\n"),
        (r"(IReadOnlyList<string> Host = new\[\]\n\s*\{\n).*?\n(?=\s*\};)", host, "            ", "\n"),
    ],
)
print(f"error codes: {len(core)} core + {len(ffi)} ffi + {len(host)} host written to the Java and C# lists")
