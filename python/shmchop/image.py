# SPDX-License-Identifier: MIT
"""check_image() and dump_image(): the tools' `check --image F --json` and
`dump --image F --json` on libshmchop, as dicts with the same keys (SPEC 7)."""

import ctypes
import math
import os
import stat

import numpy as np

from . import _native
from .errors import error_for, named
from .reader import Reader, chop_names, chop_samples

FILE_MAX = 1 << 31  # the tools' bound on an image file (toolkit TK_FILE_MAX)


def read_image_file(path):
    """The bytes of an image file (SPEC 1.4), sized with fstat first and
    bounded like the tools (R2.18); a directory or an oversized file
    raises OSError / LimitError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError("%s: is a directory, not an image file" % os.fsdecode(path))
        limit = FILE_MAX if stat.S_ISREG(st.st_mode) else FILE_MAX + 1
        if stat.S_ISREG(st.st_mode) and st.st_size > FILE_MAX:
            raise _limit(path, "is %d bytes, larger than the %d-byte limit" % (st.st_size, FILE_MAX))
        chunks, got = [], 0
        while got < limit:
            chunk = os.read(fd, min(limit - got, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > FILE_MAX:
            raise _limit(path, "is larger than the %d-byte limit" % FILE_MAX)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _limit(path, what):
    return named("LimitError", "%s: %s" % (os.fsdecode(path), what))


def _finding(f):
    return {"rule": _native.text(f.rule), "field": _native.text(f.field),
            "message": _native.text(f.message), "code": _native.text(_native.err_name(f.code))}


def _findings(diag, errors):
    n = diag.n_errors if errors else diag.n_warnings
    kept = min(n, _native.SHMCHOP_DIAG_KEEP)
    lst = diag.errors if errors else diag.warnings
    return [_finding(lst[i]) for i in range(kept)]


def _parse(data, path, strict):
    """Parse a private copy of data; returns (rc, chop, info, diag).
    The caller frees chop with chop_free."""
    buf = ctypes.create_string_buffer(data, len(data))
    opts = _native.ParseOpts(object=os.fsencode(path), strict=bool(strict), count_nonfinite=True)
    chop, info, diag = _native.Chop(), _native.ImageInfo(), _native.Diag()
    _native.chop_init(ctypes.byref(chop))
    rc = _native.image_parse(buf, len(data), ctypes.byref(opts), ctypes.byref(chop),
                             ctypes.byref(info), ctypes.byref(diag))
    if rc < 0 and not diag.n_errors:
        _native.chop_free(ctypes.byref(chop))
        raise error_for(rc)
    return rc, chop, info, diag


def check_image(path, strict=False):
    """Validate an image file: {"valid", "errors", "warnings"} (plus
    "errors_omitted" / "warnings_omitted" when more were counted than the
    16 kept), each finding {"rule", "field", "message", "code"}."""
    data = read_image_file(path)
    rc, chop, _, diag = _parse(data, path, strict)
    _native.chop_free(ctypes.byref(chop))
    out = {"valid": rc == 0, "errors": _findings(diag, True),
           "warnings": _findings(diag, False)}
    for key, total in (("errors_omitted", diag.n_errors), ("warnings_omitted", diag.n_warnings)):
        if total > _native.SHMCHOP_DIAG_KEEP:
            out[key] = total - _native.SHMCHOP_DIAG_KEEP
    return out


def _num(v):
    """A JSON number as the tools print it: NaN and Inf become None."""
    v = float(v)
    return v if math.isfinite(v) else None


def _header(h):
    return {"magicNumber": h.magic, "version": h.version, "size": h.size,
            "numChans": h.num_chans, "length": h.length, "sampleRate": _num(h.sample_rate),
            "namesSent": h.names_sent, "channelDataOffset": h.channel_data_offset,
            "nameDataOffset": h.name_data_offset}


def _ext(info):
    e = info.ext
    return {"seq": e.seq, "frame": e.frame, "start": e.start, "time_ns": e.time_ns,
            "heartbeat_ns": e.heartbeat_ns, "writer_pid": e.writer_pid, "flags": e.flags,
            "checksum_ok": bool(info.checksum_ok)}


def _stats(name, row):
    """min, max and mean over the finite samples, summed in order in
    double precision as the tool does (cumsum adds left to right)."""
    finite = row[np.isfinite(row)].astype(np.float64)
    if finite.size:
        mn, mx = float(finite.min()), float(finite.max())
        mean = float(np.cumsum(finite)[-1]) / finite.size
    else:
        mn = mx = mean = None
    return {"name": name, "min": mn, "max": mx, "mean": mean,
            "nonfinite": int(row.size - finite.size)}


def dump_image(path, samples=False, scope=None, rate=None):
    """One frame of an image file as `dump --image F --json [--samples]
    [--scope PAT] [--rate R]` prints it: {"header", "names", "rate",
    "start", "length", "ext" (with a block), "stats", "warnings"} and
    "samples" when asked. An invalid image raises the Error of its first
    error, with every finding in .findings."""
    data = read_image_file(path)
    rc, chop, info, diag = _parse(data, path, False)
    try:
        if rc:
            err = error_for(rc, _native.text(diag.errors[0].message))
            err.findings = _findings(diag, True)
            raise err
        if scope is not None or rate:
            with Reader("image", scope=scope, rate=float(rate or 0.0)) as r:
                out = r.cook_image(data)
                return _dump_dict(out.names, out.rate, out.start, out.samples.copy(), info,
                                  diag, samples)
        return _dump_dict(chop_names(chop), chop.rate, chop.start, chop_samples(chop).copy(),
                          info, diag, samples)
    finally:
        _native.chop_free(ctypes.byref(chop))


def _dump_dict(names, rate, start, data, info, diag, samples):
    out = {"header": _header(info.header), "names": list(names), "rate": _num(rate),
           "start": start, "length": int(data.shape[1])}
    if info.has_ext:
        out["ext"] = _ext(info)
    out["stats"] = [_stats(n, data[i]) for i, n in enumerate(names)]
    out["warnings"] = _findings(diag, False)
    if samples:
        out["samples"] = [[_num(v) for v in row] for row in data.tolist()]
    return out
