# SPDX-License-Identifier: MIT
"""shmchop.Error and one subclass per library code, made from the library's own table.

The C library's X-macro table (error.h) is the single source of truth: the
classes are generated from shmchop_err_name() at import, so a code added
there gets its class here without an edit. SHMCHOP_E_NO_WRITER becomes
NoWriterError, SHMCHOP_E_BAD_MAGIC BadMagicError, and so on; a -errno
failure is a SystemFailure (also an OSError, with errno set).
"""

import errno as _errno

from . import _native


class Error(Exception):
    """A failure of libshmchop: ``code`` (negative int), ``name``
    ("NO_WRITER", "ENOMEM") and ``message`` (one line naming the object and
    the value at fault, SPEC R6.1)."""

    def __init__(self, code, message=None):
        self.code = code
        self.name = _native.text(_native.err_name(code))
        self.message = message or _native.text(_native.strerror(code))
        self.rule = _native.text(_native.err_rule(code))
        self.findings = []
        super().__init__(self.message)

    def __str__(self):
        return "%s: %s" % (self.name, self.message)


class SystemFailure(Error, OSError):
    """A system call failed: code is -errno."""

    def __init__(self, code, message=None):
        Error.__init__(self, code, message)
        self.errno = -code
        self.strerror = self.message


def _class_name(name):
    return "".join(part.capitalize() for part in name.split("_")) + "Error"


def _make_classes():
    classes = {}
    idx = 0
    while True:
        code = _native.SHMCHOP_ERR_BASE - 1 - idx
        name = _native.text(_native.err_name(code))
        if name in ("ERRNO", "UNKNOWN"):  # past the table's last code
            return classes
        bases = (Error, ValueError) if name == "USAGE" else (Error,)
        doc = "SHMCHOP_E_%s (%d): %s." % (name, code, _native.text(_native.strerror(code)))
        classes[code] = type(_class_name(name), bases, {"__doc__": doc,
                                                        "__module__": "shmchop"})
        idx += 1


CLASSES = _make_classes()
globals().update({cls.__name__: cls for cls in CLASSES.values()})
__all__ = ["Error", "SystemFailure"] + sorted(cls.__name__ for cls in CLASSES.values())


_CODES = {cls.__name__: code for code, cls in CLASSES.items()}


def named(class_name, message):
    """The exception of one library code by class name ("LimitError")."""
    code = _CODES[class_name]
    return CLASSES[code](code, message)


def usage(message):
    """A UsageError (SHMCHOP_E_USAGE) for a bad argument caught in Python."""
    return named("UsageError", message)


def error_for(code, message=None):
    """The exception for a negative return value of the library."""
    cls = CLASSES.get(code)
    if cls is not None:
        return cls(code, message)
    if -4096 < code < 0 and -code in _errno.errorcode:
        return SystemFailure(code, message)
    return Error(code, message)


def check(code, message=None):
    """Raise the exception for code when it is negative; return it otherwise."""
    if code < 0:
        raise error_for(code, message)
    return code
