# SPDX-License-Identifier: MIT
"""shmchop.Reader: one Shared Mem In node (SPEC section 4) on libshmchop's reader."""

import ctypes
import time

import numpy as np

from . import _native
from .errors import check, error_for, usage

_MEMTYPES = {"local": 0, "global": 1}
_SRSELECT = {"first": 0, "max": 1, "min": 2, "err": 3}
_EXPORTMETHODS = {"datindex": 0, "datname": 1, "autoname": 2}


def _choice(what, value, table):
    try:
        return table[value]
    except (KeyError, TypeError):
        raise usage("%s: %r is none of %s" % (what, value, ", ".join(table))) from None


def _bytes(value):
    return None if value is None else value.encode("utf-8")


class _Handle:
    """Owns the C reader. The sample views hold a reference to it, so the
    C memory they show outlives Reader.close() until the last view is gone."""

    def __init__(self, ptr):
        self.ptr = ptr

    def __del__(self):
        if self.ptr:
            _native.reader_close(self.ptr)
            self.ptr = None


def chop_names(c, cache=None):
    """The channel names of a C CHOP as a tuple of str. The names lie back
    to back, each ended by a NUL; with cache (a dict kept by the caller)
    an unchanged name area is not decoded again."""
    n = c.num_chans
    if n == 0:
        return ()
    base = ctypes.addressof(c.name_buf.contents)
    last = c.name_off[n - 1]
    total = last + len(ctypes.string_at(base + last)) + 1
    raw = (ctypes.c_char * total).from_address(base).raw
    if cache is not None and cache.get("raw") == raw:
        return cache["names"]
    names = tuple(_native.text(x) for x in raw.split(b"\0")[:n])
    if cache is not None:
        cache["raw"], cache["names"] = raw, names
    return names


def chop_samples(c, keepalive=None):
    """A read-only float32 array (num_chans, length) viewing the C CHOP's
    planar samples; keepalive is referenced by the array's buffer."""
    n = c.num_chans * c.length
    if n == 0 or not c.data:
        view = np.empty((c.num_chans, c.length), dtype=np.float32)
    else:
        buf = (ctypes.c_float * n).from_address(ctypes.addressof(c.data.contents))
        buf._shmchop_keepalive = keepalive
        view = np.frombuffer(buf, dtype=np.float32).reshape(c.num_chans, c.length)
    view.flags.writeable = False
    return view


class Chop:
    """The output of one cook (R4.3): ``names``, ``rate``, ``start``,
    ``length`` and ``samples``, a read-only float32 numpy array of shape
    (channels, length) that views the reader's own output buffer, no copy.

    The reader double-buffers its output, so a view shows this cook's
    samples until the reader's next successful cook; ``samples`` of a Chop
    older than that raises UsageError. Keep data across cooks with
    ``chop.samples.copy()``.
    """

    __slots__ = ("names", "rate", "start", "length", "info", "_samples", "_reader", "_gen")

    def __init__(self, reader, gen, names, rate, start, length, samples, info):
        self._reader = reader
        self._gen = gen
        self.names = names
        self.rate = rate
        self.start = start
        self.length = length
        self._samples = samples
        self.info = info

    @property
    def samples(self):
        if self._reader is not None and self._reader._gen != self._gen:
            raise usage("this CHOP's samples were replaced by a later cook; "
                        "copy them (samples.copy()) to keep them")
        return self._samples

    def __repr__(self):
        return "<shmchop.Chop %d ch x %d @ %g Hz, start %d>" % (
            len(self.names), self.length, self.rate, self.start)


class Reader:
    """One Shared Mem In node on the live segment(s) ``name`` (SPEC 4.1).

    ``cook(now_ns=None)`` reads and returns the output as a Chop; a failed
    cook raises a shmchop.Error subclass and keeps the previous output
    (R4.2), still available as ``reader.output``. Use as a context manager
    or call ``close()``.
    """

    def __init__(self, name, memtype="local", timeslice=False, scope="*", srselect="first",
                 fps=60, *, active=True, global_name=None, exportmethod="datindex",
                 autoexportroot="/", exporttable=None, maxslice_ms=200.0, maxqueue=3.0,
                 strict=False, lock_timeout_ms=0, rate=0.0):
        p = _native.ReaderParams()
        _native.reader_params_init(ctypes.byref(p))
        # The C strings must live until reader_open has copied them.
        keep = [_bytes(name), _bytes(global_name), _bytes(scope), _bytes(autoexportroot),
                _bytes(exporttable)]
        p.active = bool(active)
        p.name, p.global_name, p.scope, p.autoexportroot, p.exporttable = keep
        p.memtype = _choice("memtype", memtype, _MEMTYPES)
        p.timeslice = bool(timeslice)
        p.srselect = _choice("srselect", srselect, _SRSELECT)
        p.exportmethod = _choice("exportmethod", exportmethod, _EXPORTMETHODS)
        p.fps = float(fps)
        p.maxslice_ms = float(maxslice_ms)
        p.maxqueue = float(maxqueue)
        p.strict = bool(strict)
        p.lock_timeout_ms = int(lock_timeout_ms)
        p.rate = float(rate)
        ptr = ctypes.c_void_p()
        err = ctypes.create_string_buffer(_native.SHMCHOP_MESSAGE_MAX)
        rc = _native.reader_open(ctypes.byref(p), ctypes.byref(ptr), err, len(err))
        check(rc, _native.text(err.value))
        self.name = name
        self._handle = _Handle(ptr.value)
        self._gen = 0
        self._output = None
        self._names = {}
        self._info_ptr = ctypes.POINTER(_native.InfoChannel)()

    def _ptr(self):
        if self._handle is None:
            raise usage("reader %s is closed" % self.name)
        return self._handle.ptr

    def cook(self, now_ns=None):
        """Cook at now_ns (CLOCK_MONOTONIC nanoseconds, R4.1; default: now)
        and return the new output. Raises the Error of a failed cook."""
        ptr = self._ptr()
        if now_ns is None:
            now_ns = time.monotonic_ns()
        rc = _native.reader_cook(ptr, now_ns)
        return self._after_cook(ptr, rc)

    def cook_image(self, image, now_ns=0):
        """Cook from one image (bytes-like) instead of a live segment:
        deterministic, no shared memory (shmchop_reader_cook_images)."""
        ptr = self._ptr()
        buf = ctypes.create_string_buffer(bytes(image), len(image))
        imgs = (ctypes.c_void_p * 1)(ctypes.addressof(buf))
        lens = (ctypes.c_size_t * 1)(len(image))
        rc = _native.reader_cook_images(ptr, now_ns, imgs, lens, 1)
        return self._after_cook(ptr, rc)

    def _after_cook(self, ptr, rc):
        if rc != 0:
            raise error_for(rc, _native.text(_native.reader_errmsg(ptr)) or None)
        self._gen += 1
        c = _native.reader_output(ptr).contents
        self._output = Chop(self, self._gen, chop_names(c, self._names), c.rate, c.start, c.length,
                            chop_samples(c, self._handle), self.info)
        return self._output

    @property
    def output(self):
        """The output of the latest successful cook (None before one)."""
        return self._output

    @property
    def info(self):
        """The SPEC 4.7 info channels of the latest cook, as a dict."""
        ptr = self._ptr()
        n = _native.reader_info(ptr, ctypes.byref(self._info_ptr))
        t = self._info_ptr
        return {t[i].name.decode("ascii"): t[i].value for i in range(n)}

    @property
    def errmsg(self):
        """The latest cook's failure message, "" after a successful one."""
        return _native.text(_native.reader_errmsg(self._ptr()))

    def close(self):
        """Release the reader. The memory of views still alive is kept
        until they are gone; shared memory is never unlinked. The reader's
        own reference to its latest output goes too, so a closed reader
        whose views nobody holds unmaps its segment at once (and `gc`,
        which never removes what a live process maps, R2.14, can clean up)."""
        self._handle = None
        self._output = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
