# SPDX-License-Identifier: MIT
"""Failures of the library arrive as the right shmchop.Error subclass, with
the code, its name and the one-line message (SPEC 6)."""

import errno
import unittest

import shmchop
import support
from shmchop import errors


class ErrorsTest(unittest.TestCase):
    def test_one_class_per_code_from_the_table(self):
        self.assertIs(shmchop.NoWriterError, errors.CLASSES[-1022])
        self.assertEqual(shmchop.TruncatedError.__name__, "TruncatedError")
        self.assertTrue(issubclass(shmchop.UsageError, ValueError))
        names = {cls(code).name for code, cls in errors.CLASSES.items()}
        self.assertIn("BAD_MAGIC", names)
        self.assertIn("DETACHED", names)
        self.assertEqual(len(names), len(errors.CLASSES))
        e = errors.error_for(-errno.ENOMEM)
        self.assertIsInstance(e, shmchop.SystemFailure)
        self.assertIsInstance(e, OSError)
        self.assertEqual((e.errno, e.name), (errno.ENOMEM, "ENOMEM"))

    def test_no_writer(self):
        name = support.unique_name("nowriter")
        try:
            with shmchop.Reader(name) as r:
                with self.assertRaises(shmchop.NoWriterError) as cm:
                    r.cook()
                e = cm.exception
                self.assertEqual((e.code, e.name), (-1022, "NO_WRITER"))
                self.assertIn(name, e.message)
                self.assertEqual(r.errmsg, e.message)
                self.assertIsNone(r.output)
                self.assertEqual(r.info["errors"], 1)
        finally:
            support.gc(name)

    def test_bad_names_patterns_and_choices(self):
        with shmchop.Reader("a/b") as r:
            with self.assertRaises(shmchop.BadShmNameError):
                r.cook()
        with self.assertRaises(shmchop.BadPatternError) as cm:
            shmchop.Reader("x", scope="[")
        self.assertIn("[", cm.exception.message)
        with self.assertRaises(shmchop.UsageError):
            shmchop.Reader("x", srselect="loudest")
        with self.assertRaises(ValueError):
            shmchop.Reader("x", memtype="remote")
        with self.assertRaises(shmchop.BadShmNameError):
            shmchop.Writer("")

    def test_writer_errors(self):
        name = support.unique_name("inuse")
        try:
            with shmchop.Writer(name) as w:
                with self.assertRaises(shmchop.NameInUseError) as cm:
                    shmchop.Writer(name)
                self.assertIn(name, cm.exception.message)
                with self.assertRaises(shmchop.UsageError):
                    w.publish([1.0, 2.0])  # 1-D
                with self.assertRaises(shmchop.UsageError):
                    w.publish([[1.0]], names=["a", "b"])
            with self.assertRaises(shmchop.UsageError):
                w.publish([[1.0]])  # closed
        finally:
            support.gc(name)

    def test_invalid_image_cook_keeps_output(self):
        with shmchop.Reader("img") as r:
            good = r.cook_image(_image([[1.0, 2.0]]))
            self.assertEqual(good.samples.tolist(), [[1.0, 2.0]])
            with self.assertRaises(shmchop.BadMagicError) as cm:
                r.cook_image(b"\0" * 64)
            self.assertEqual(cm.exception.name, "BAD_MAGIC")
            self.assertIs(r.output, good)
            self.assertEqual(r.output.samples.tolist(), [[1.0, 2.0]])


def _image(rows):
    """An image of rows built by the library, through a Writer-free path:
    shmchop-out image would do too, but the module's own builder is at hand."""
    import ctypes
    import numpy as np
    from shmchop import _native
    data = np.asarray(rows, dtype=np.float32)
    c = _native.Chop()
    _native.chop_init(ctypes.byref(c))
    try:
        errors.check(_native.chop_reserve(ctypes.byref(c), data.shape[0], data.shape[1], 0))
        ctypes.memmove(c.data, data.ctypes.data, data.nbytes)
        c.rate = 60.0
        opts = _native.BuildOpts(ext=True)
        size = errors.check(_native.image_size(ctypes.byref(c), ctypes.byref(opts)))
        buf = ctypes.create_string_buffer(size)
        n = ctypes.c_size_t()
        errors.check(_native.image_build(buf, size, ctypes.byref(c), ctypes.byref(opts),
                                         ctypes.byref(n)))
        return buf.raw[:n.value]
    finally:
        _native.chop_free(ctypes.byref(c))


if __name__ == "__main__":
    unittest.main()
