# SPDX-License-Identifier: MIT
"""Live segments between Python and the tools: a Python writer verified by
`shmchop-in watch --verify-counter`, `shmchop-out run` read by a Python
reader sample by sample, resize and detach followed, and 10,000 cooks
without memory growth."""

import json
import threading
import tracemalloc
import unittest

import numpy as np

import shmchop
import support


class LiveTest(unittest.TestCase):
    def setUp(self):
        self.name = support.unique_name("live")

    def tearDown(self):
        support.gc(self.name)
        self.assertEqual(support.leftovers(self.name), [])

    def test_python_writer_passes_watch_verify_counter(self):
        chans, length = 3, 64
        stop = threading.Event()
        errors = []

        def write(w):
            try:
                while not stop.is_set():
                    w.publish(support.counter_wave(w.frame + 1, chans, length), rate=60.0)
                    stop.wait(0.002)
            except Exception as e:  # reported by the main thread
                errors.append(e)

        with shmchop.Writer(self.name) as w:
            w.publish(support.counter_wave(1, chans, length))
            t = threading.Thread(target=write, args=(w,))
            t.start()
            try:
                p = support.run([support.tool("shmchop-in"), "watch", self.name, "--frames", "30",
                                 "--fps", "100", "--verify-counter", "--json"], timeout=60,
                                check=0)
            finally:
                stop.set()
                t.join(10)
        self.assertEqual(errors, [])
        lines = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual(len(lines), 30)
        frames = set()
        for line in lines:
            node = line["nodes"][0]
            self.assertTrue(node["ok"], node["error"])
            self.assertEqual(node["torn_total"], 0)
            self.assertEqual((len(node["names"]), node["length"]), (chans, length))
            frames.add(node["writer_frame"])
        self.assertGreater(len(frames), 5)  # the writer moved on while watched

    def test_shmchop_out_read_sample_by_sample_then_resize_then_detach(self):
        out = support.tool("shmchop-out")
        args = [out, "run", "--name", self.name, "--chans", "2", "--length", "16", "--wave",
                "counter", "--fps", "100", "--frames", "150", "--fault", "resize:60:3:40"]
        checked = {}
        with support.Child(args) as child, shmchop.Reader(self.name) as r:
            def cook():
                try:
                    return r.cook()
                except (shmchop.NoWriterError, shmchop.SegmentGoneError):
                    return None
                except shmchop.DetachedError:
                    return "detached"
            while True:
                chop = support.until(cook, timeout=30)
                if chop == "detached":
                    break
                frame = int(r.info["writer_frame"])
                want = support.counter_wave(frame, len(chop.names), chop.length)
                # Sample by sample, bit for bit, against the counter formula.
                self.assertEqual(chop.samples.dtype, np.float32)
                self.assertFalse(chop.samples.flags.writeable)
                np.testing.assert_array_equal(chop.samples, want)
                self.assertEqual(chop.names, tuple("chan%d" % (i + 1)
                                                   for i in range(len(chop.names))))
                checked[(len(chop.names), chop.length)] = frame
            held = r.output
            rc, _, err = child.wait(30)
        self.assertEqual(rc, 0, err)
        self.assertIn((2, 16), checked)
        self.assertIn((3, 40), checked)        # the resize was followed (R2.6)
        self.assertGreaterEqual(checked[(3, 40)], 60)
        # Detached: the output is the last good one (R4.2).
        self.assertEqual(held.length, 40)

    def test_python_writer_resize_and_detach_followed_output_held(self):
        with shmchop.Reader(self.name) as r:
            with shmchop.Writer(self.name) as w:
                w.publish(np.ones((2, 4)), names=["a", "b"], rate=50)
                c = r.cook(10**9)
                self.assertEqual((c.names, c.rate, c.length), (("a", "b"), 50.0, 4))
                big = np.arange(3 * 100, dtype=np.float64).reshape(3, 100) / 7.0
                w.publish(big, names=["x", "y", "z"], rate=50)
                c = r.cook(2 * 10**9)
                self.assertEqual((c.names, c.samples.shape), (("x", "y", "z"), (3, 100)))
                np.testing.assert_array_equal(c.samples, big.astype(np.float32))
                self.assertEqual(c.start, 4)  # default start continues the stream
                kept = c.samples.copy()
            with self.assertRaises(shmchop.DetachedError) as cm:
                r.cook(3 * 10**9)
            self.assertEqual(cm.exception.name, "DETACHED")
            self.assertIn(self.name, cm.exception.message)
            self.assertGreaterEqual(r.info["errors"], 1)
            np.testing.assert_array_equal(r.output.samples, kept)
            # A new writer under the same name is picked up (R2.7a).
            with shmchop.Writer(self.name) as w2:
                w2.publish([[5.0]], names=["again"])
                self.assertEqual(support.until(lambda: support.cook_or_none(r)).names, ("again",))

    def test_stale_view_raises_and_views_survive_close(self):
        with shmchop.Writer(self.name) as w:
            w.publish([[1.0, 2.0]])
            r = shmchop.Reader(self.name)
            first = r.cook()
            view = first.samples
            w.publish([[3.0, 4.0]])
            second = r.cook()
            with self.assertRaises(shmchop.UsageError):
                first.samples
            r.close()
            # The C memory stays while a view refers to it.
            np.testing.assert_array_equal(second.samples, [[3.0, 4.0]])
            del view
            with self.assertRaises(shmchop.UsageError):
                r.cook()

    def test_10000_cooks_no_memory_growth(self):
        with shmchop.Writer(self.name) as w, shmchop.Reader(self.name) as r:
            data = np.zeros((2, 735), dtype=np.float32)
            t = 0
            for _ in range(500):  # warm up: buffers sized, caches filled
                t += 10**7
                r.cook(t)
            rss0 = _rss_kib()
            tracemalloc.start()
            snap0 = tracemalloc.take_snapshot()
            for i in range(10000):
                if i % 100 == 0:
                    data[:, 0] = i
                    w.publish(data)
                t += 10**7
                chop = r.cook(t)
                chop.samples[1, -1]
            snap1 = tracemalloc.take_snapshot()
            tracemalloc.stop()
            growth = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
            self.assertLess(growth, 64 * 1024, "Python heap grew by %d bytes" % growth)
            self.assertLess(_rss_kib() - rss0, 2048, "resident set grew")
            self.assertEqual(r.info["total_cooks"], 10500)
            self.assertEqual(chop.samples[0, 0], 9900.0)


def _rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


if __name__ == "__main__":
    unittest.main()
