# SPDX-License-Identifier: MIT
"""Every struct and constant the module declares in ctypes matches the C
headers: sizes and offsets from a C program built with sizeof/offsetof."""

import ctypes
import os
import subprocess
import tempfile
import unittest

import support
from shmchop import _native

HEADERS = ("chop.h", "error.h", "image.h", "reader.h", "segment.h")


def c_program():
    lines = ["#include <stddef.h>", "#include <stdio.h>"]
    lines += ["#include <shmchop/%s>" % h for h in HEADERS]
    lines += ["int main(void)", "{"]
    for cls in _native.STRUCTS:
        t = cls._c_name_
        lines.append('    printf("size %s %%zu\\n", sizeof(%s));' % (t, t))
        for field, _ in cls._fields_:
            lines.append('    printf("offset %s.%s %%zu\\n", offsetof(%s, %s));'
                         % (t, field, t, field))
            lines.append('    printf("fsize %s.%s %%zu\\n", sizeof(((%s *)0)->%s));'
                         % (t, field, t, field))
    for name in _native.ENUMS:
        lines.append('    printf("const %s %%lld\\n", (long long)(%s));' % (name, name))
    lines += ["    return 0;", "}"]
    return "\n".join(lines) + "\n"


class LayoutTest(unittest.TestCase):
    def test_structs_and_constants_match_headers(self):
        cc = os.environ.get("CC") or "cc"
        if not support.INCLUDE:
            self.skipTest("SHMCHOP_INCLUDE_DIR not set")
        with tempfile.TemporaryDirectory() as tmp:
            src, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
            with open(src, "w") as f:
                f.write(c_program())
            subprocess.run([cc, "-std=c11", "-Wall", "-Werror", "-I", support.INCLUDE, "-o", exe,
                            src], check=True, timeout=120)
            out = subprocess.run([exe], check=True, stdout=subprocess.PIPE, text=True,
                                 timeout=30).stdout
        c = {}
        for line in out.splitlines():
            kind, key, value = line.split()
            c[(kind, key)] = int(value)
        checked = 0
        for cls in _native.STRUCTS:
            t = cls._c_name_
            self.assertEqual(ctypes.sizeof(cls), c[("size", t)], "sizeof(%s)" % t)
            for field, ftype in cls._fields_:
                key = "%s.%s" % (t, field)
                self.assertEqual(getattr(cls, field).offset, c[("offset", key)], "offsetof " + key)
                self.assertEqual(ctypes.sizeof(ftype), c[("fsize", key)], "sizeof " + key)
                checked += 1
        for name, value in _native.ENUMS.items():
            self.assertEqual(value, c[("const", name)], name)
        self.assertGreater(checked, 50)


if __name__ == "__main__":
    unittest.main()
