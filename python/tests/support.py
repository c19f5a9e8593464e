# SPDX-License-Identifier: MIT
"""What the Python suites share: the tools, unique segment names, bounded
child processes that are always reaped, and cleanup of /dev/shm."""

import itertools
import json
import os
import subprocess
import time
import unittest

BIN = os.environ.get("SHMCHOP_BIN_DIR", "")
VECTORS = os.environ.get("SHMCHOP_VECTORS_DIR", "")
SOURCE = os.environ.get("SHMCHOP_SOURCE_DIR", "")
INCLUDE = os.environ.get("SHMCHOP_INCLUDE_DIR", "")
_seq = itertools.count()


def tool(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest("%s not built (SHMCHOP_BIN_DIR=%r)" % (name, BIN))
    return path


def unique_name(tag):
    """A Shared Mem Name no other test or engineer uses: tag, pid, counter."""
    return "pytest_%s_%d_%d" % (tag, os.getpid(), next(_seq))


def run(args, timeout=30, check=None):
    """Run a tool to completion within timeout; returns CompletedProcess."""
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       text=True)
    if check is not None and p.returncode != check:
        raise AssertionError("%s exited %d, wanted %d\nstdout: %s\nstderr: %s"
                             % (" ".join(args), p.returncode, check, p.stdout, p.stderr))
    return p


def run_json(args, timeout=30, check=0):
    p = run(args, timeout, check)
    return json.loads(p.stdout)


def gc(name):
    """Remove whatever a test left of name (a NAME, never the whole /dev/shm)."""
    subprocess.run([tool("shmchop-in"), "gc", name], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)


def leftovers(name):
    """The /dev/shm objects of name still there."""
    return sorted(f for f in os.listdir("/dev/shm")
                  if f.startswith("TouchSHM" + name) or f.startswith("TouchSHMTouchSHM" + name))


class Child:
    """A background tool process, killed and reaped on exit whatever happens."""

    def __init__(self, args):
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def wait(self, timeout=30):
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()
        else:
            self.proc.communicate()
        return False


def until(predicate, timeout=10.0, step=0.005):
    """Poll predicate until it returns a true value (returned) or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %.1f s" % timeout)
        time.sleep(step)


def cook_or_none(reader):
    """reader.cook(), or None when it fails (to poll with until())."""
    import shmchop
    try:
        return reader.cook()
    except shmchop.Error:
        return None


def counter_wave(frame, chans, length):
    """The counter wave (SPEC R5.3, wire/counter.c) in numpy: sample i of
    channel c in writer frame f is (f*65599 + c*4099 + i) mod 2^24, in
    32-bit unsigned arithmetic, as float32."""
    import numpy as np
    c = np.arange(chans, dtype=np.uint32)[:, None]
    i = np.arange(length, dtype=np.uint32)[None, :]
    f = np.uint32(frame & 0xFFFFFFFF)
    with np.errstate(over="ignore"):
        v = f * np.uint32(65599) + c * np.uint32(4099) + i
    return (v & np.uint32(0xFFFFFF)).astype(np.float32)


def readme_example(kind):
    """The code block after `<!-- example: KIND -->` in the README, so that
    the tests run exactly what the README shows."""
    import re
    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- example: %s -->\n```[a-z]*\n(.*?)```" % re.escape(kind), text, re.S)
    if not m:
        raise AssertionError("README.md has no '<!-- example: %s -->' block" % kind)
    return m.group(1)


def counter_channels_consistent(values, length):
    """Last samples of channels 0..n-1 of one counter frame differ by
    4099 per channel (mod 2^24), and channel 0's is frame*65599 + length-1."""
    base = int(values[0]) - (length - 1)
    return all((base + c * 4099 + length - 1) & 0xFFFFFF == int(v) for c, v in enumerate(values))
