# SPDX-License-Identifier: MIT
"""The python_cook_2x735 benchmark script runs and prints one row with the
bench's keys (a smoke run: few iterations, no timing asserted)."""

import json
import os
import subprocess
import sys
import unittest

import support


class BenchTest(unittest.TestCase):
    def test_row_keys(self):
        script = os.path.join(support.SOURCE, "python", "bench", "bench_cook.py")
        name = support.unique_name("bench")
        try:
            p = subprocess.run([sys.executable, script, "--iterations", "300", "--name", name],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=60)
        finally:
            support.gc(name)
        self.assertEqual(support.leftovers(name), [])
        self.assertEqual(p.returncode, 0, p.stderr)
        row = json.loads(p.stdout)
        self.assertEqual(row["name"], "python_cook_2x735")
        keys = ("p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns")
        values = [row[k] for k in keys]
        self.assertTrue(all(isinstance(v, int) and v > 0 for v in values), row)
        self.assertEqual(values, sorted(values))
        self.assertEqual(row["iterations"], 300)


if __name__ == "__main__":
    unittest.main()
