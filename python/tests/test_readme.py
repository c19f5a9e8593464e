# SPDX-License-Identifier: MIT
"""The README's Python example, taken from README.md, reads a live
`shmchop-out run` segment and prints the last sample of each channel."""

import os
import subprocess
import sys
import tempfile
import unittest

import shmchop
import support


class ReadmeTest(unittest.TestCase):
    def test_readme_script_on_a_live_segment(self):
        code = support.readme_example("python")
        self.assertLessEqual(len(code.strip().splitlines()), 10)
        name = support.unique_name("readme")
        length = 8
        args = [support.tool("shmchop-out"), "run", "--name", name, "--chans", "3", "--length",
                str(length), "--wave", "counter", "--fps", "60", "--seconds", "60"]
        try:
            with support.Child(args), shmchop.Reader(name) as r, \
                    tempfile.TemporaryDirectory() as tmp:
                support.until(lambda: support.cook_or_none(r), timeout=30)
                script = os.path.join(tmp, "last.py")
                with open(script, "w") as f:
                    f.write(code)
                p = subprocess.run([sys.executable, script, name], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = [line.split() for line in p.stdout.splitlines()]
            self.assertEqual([x[0] for x in lines], ["chan1", "chan2", "chan3"])
            values = [float(x[1]) for x in lines]
            self.assertTrue(support.counter_channels_consistent(values, length), values)
        finally:
            support.gc(name)
        self.assertEqual(support.leftovers(name), [])


if __name__ == "__main__":
    unittest.main()
