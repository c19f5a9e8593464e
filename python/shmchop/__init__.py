# SPDX-License-Identifier: MIT
"""shmchop: TouchDesigner-style shared memory CHOPs from Python, on libshmchop.

    import shmchop
    with shmchop.Reader("demo") as r:
        chop = r.cook()            # names, rate, start, length, samples, info
        print(chop.samples[:, -1]) # float32 (channels, length), a view, no copy

    with shmchop.Writer("demo") as w:
        w.publish([[0.0, 0.5, 1.0]], names=["x"], rate=60.0)

    shmchop.check_image("f.img")   # as `shmchop-in check --image f.img --json`
    shmchop.dump_image("f.img")    # as `shmchop-in dump --image f.img --json`

Errors are shmchop.Error subclasses (NoWriterError, DetachedError, ...)
with .code, .name and .message. The SPEC (sections 1, 2, 4) is the contract.
"""

from . import _native, errors
from .errors import *  # noqa: F401,F403  (Error and one class per code)
from .image import check_image, dump_image
from .reader import Chop, Reader
from .writer import Writer

__version__ = _native._paths.VERSION if _native._paths is not None else "unknown"
__all__ = ["Reader", "Writer", "Chop", "check_image", "dump_image"] + errors.__all__
