# SPDX-License-Identifier: MIT
"""check_image() and dump_image() give the very dicts the tools print as
JSON, on every golden vector (conformance/vectors)."""

import glob
import json
import os
import unittest

import shmchop
import support


def vectors():
    paths = sorted(glob.glob(os.path.join(support.VECTORS, "*.img")))
    if not paths:
        raise unittest.SkipTest("no vectors in SHMCHOP_VECTORS_DIR=%r" % support.VECTORS)
    return paths


class ImageTest(unittest.TestCase):
    def test_check_image_equals_check_json(self):
        tool = support.tool("shmchop-in")
        n_invalid = 0
        for path in vectors():
            with self.subTest(vector=os.path.basename(path)):
                p = support.run([tool, "check", "--image", path, "--json"])
                self.assertIn(p.returncode, (0, 1), p.stderr)
                want = json.loads(p.stdout)
                got = shmchop.check_image(path)
                self.assertEqual(got, want)
                self.assertEqual(got["valid"], p.returncode == 0)
                n_invalid += not got["valid"]
        self.assertGreater(n_invalid, 5)

    def test_check_image_strict(self):
        tool = support.tool("shmchop-in")
        for path in vectors():
            with self.subTest(vector=os.path.basename(path)):
                want = support.run_json([tool, "check", "--image", path, "--json", "--strict"],
                                        check=None)
                self.assertEqual(shmchop.check_image(path, strict=True), want)

    def test_dump_image_equals_dump_json(self):
        tool = support.tool("shmchop-in")
        n_valid = 0
        for path in vectors():
            with self.subTest(vector=os.path.basename(path)):
                p = support.run([tool, "dump", "--image", path, "--json", "--samples"])
                if p.returncode == 1:
                    # Invalid: the tool prints why on stderr; Python raises
                    # the first error's class with every finding.
                    check = shmchop.check_image(path)
                    with self.assertRaises(shmchop.Error) as cm:
                        shmchop.dump_image(path, samples=True)
                    self.assertEqual(cm.exception.name, check["errors"][0]["code"])
                    self.assertEqual(cm.exception.message, check["errors"][0]["message"])
                    self.assertEqual(cm.exception.findings, check["errors"])
                    continue
                self.assertEqual(p.returncode, 0, p.stderr)
                want = json.loads(p.stdout)
                self.assertEqual(shmchop.dump_image(path, samples=True), want)
                without = dict(want)
                del without["samples"]
                self.assertEqual(shmchop.dump_image(path), without)
                n_valid += 1
        self.assertGreater(n_valid, 3)

    def test_dump_image_scope_and_rate_go_through_the_reader(self):
        tool = support.tool("shmchop-in")
        path = os.path.join(support.VECTORS, "valid_out_ramp.img")  # 4 x 64 at 60 Hz
        for args, kw in ((["--scope", "chan[2-3]"], {"scope": "chan[2-3]"}),
                         (["--rate", "120"], {"rate": 120}),
                         (["--scope", "^chan1", "--rate", "30"], {"scope": "^chan1", "rate": 30})):
            with self.subTest(args=args):
                want = support.run_json([tool, "dump", "--image", path, "--json", "--samples"]
                                        + args)
                self.assertEqual(shmchop.dump_image(path, samples=True, **kw), want)

    def test_unreadable_files(self):
        with self.assertRaises(IsADirectoryError):
            shmchop.check_image(support.VECTORS)
        with self.assertRaises(FileNotFoundError):
            shmchop.dump_image(os.path.join(support.VECTORS, "no-such-file.img"))


if __name__ == "__main__":
    unittest.main()
