# SPDX-License-Identifier: MIT
"""shmchop.Writer: a Shared Mem Out CHOP (SPEC section 2) on libshmchop's writer."""

import ctypes
import os
import time

import numpy as np

from . import _native
from .errors import check, error_for, usage


def default_names(count):
    """chan1, chan2, ...: the names of R1.15."""
    return ["chan%d" % (i + 1) for i in range(count)]


class Writer:
    """Takes the Shared Mem Name ``name`` (R2.4, R2.11; objects created
    with ``mode``) and publishes CHOPs into it; ``close()`` gives the name
    back (R2.8). Until the first publish readers see a valid CHOP of no
    channels. ``ext`` writes the extension block (R1.16-R1.17): sequence
    lock, frame, start, time and pid for readers that know it.
    """

    def __init__(self, name, mode=0o600, ext=True):
        self.name = name
        self._ext = bool(ext)
        self._chop = _native.Chop()
        _native.chop_init(ctypes.byref(self._chop))
        self._buf = ctypes.create_string_buffer(0)
        self._frame = 0
        self._next_start = 0
        self._ptr = None
        try:
            size = self._build(np.empty((0, 0), dtype=np.float32), [], 60.0, 0)
            opts = _native.WriterOpts(mode=int(mode), lock_timeout_ms=0, initial_size=size)
            ptr = ctypes.c_void_p()
            err = ctypes.create_string_buffer(_native.SHMCHOP_MESSAGE_MAX)
            rc = _native.writer_open(name.encode("utf-8"), ctypes.byref(opts), ctypes.byref(ptr),
                                     err, len(err))
            check(rc, _native.text(err.value))
            self._ptr = ptr.value
            self._publish_built(size)
        except BaseException:
            self.close()
            raise

    @property
    def frame(self):
        """The writer frame of the latest publish (extension block `frame`)."""
        return self._frame

    def publish(self, samples, names=None, rate=60.0, start=None):
        """Publish one frame (writer frames 1, 2, ...). samples: any 2-D array-like of floats,
        (channels, length), converted once to contiguous float32. names:
        one str per channel (default chan1, chan2, ...). start: absolute
        index of the first sample (default: right after the previous
        frame's last sample, so consecutive frames form one stream)."""
        if self._ptr is None:
            raise usage("writer %s is closed" % self.name)
        data = np.ascontiguousarray(samples, dtype=np.float32)
        if data.ndim != 2:
            raise usage("samples must be 2-D (channels, length), got %d dimensions" % data.ndim)
        names = default_names(data.shape[0]) if names is None else list(names)
        if len(names) != data.shape[0]:
            raise usage("%d names for %d channels" % (len(names), data.shape[0]))
        if start is None:
            start = self._next_start
        # Writer frames count publishes: the empty image of open is frame 0.
        self._frame += 1
        size = self._build(data, names, float(rate), int(start))
        self._publish_built(size)
        self._next_start = int(start) + data.shape[1]

    def _build(self, data, names, rate, start):
        """Build the image of one frame into self._buf; returns its size."""
        c = self._chop
        packed = b"".join(n.encode("utf-8") + b"\0" for n in names)
        check(_native.chop_reserve(ctypes.byref(c), data.shape[0], data.shape[1], len(packed)))
        if data.size:
            ctypes.memmove(c.data, data.ctypes.data, data.nbytes)
        check(_native.chop_set_names(ctypes.byref(c), packed, len(packed)))
        c.rate = rate
        c.start = start
        now = time.monotonic_ns()
        opts = _native.BuildOpts(names=True, ext=self._ext, frame=self._frame, time_ns=now,
                                 heartbeat_ns=now, writer_pid=os.getpid())
        size = check(_native.image_size(ctypes.byref(c), ctypes.byref(opts)))
        if len(self._buf) < size:
            self._buf = ctypes.create_string_buffer(size)
        written = ctypes.c_size_t()
        check(_native.image_build(self._buf, len(self._buf), ctypes.byref(c), ctypes.byref(opts),
                                  ctypes.byref(written)))
        return written.value

    def _publish_built(self, size):
        rc = _native.writer_publish(self._ptr, self._buf, size)
        if rc:
            raise error_for(rc, _native.text(_native.writer_errmsg(self._ptr)) or None)

    def close(self):
        """Give the name back (R2.8); a second close does nothing."""
        ptr, self._ptr = self._ptr, None
        rc = _native.writer_close(ptr) if ptr else 0
        if self._chop is not None:
            _native.chop_free(ctypes.byref(self._chop))
            self._chop = None
        check(rc)

    def __del__(self):
        if getattr(self, "_ptr", None) or getattr(self, "_chop", None) is not None:
            try:
                self.close()
            except Exception:  # nothing can be reported from a finaliser
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
