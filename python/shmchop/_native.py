# SPDX-License-Identifier: MIT
"""ctypes declarations of libshmchop: the library, its structs, its prototypes.

Every struct here mirrors one of reader/include/shmchop/*.h field for field;
each class names its C type in ``_c_name_`` so that the layout test
(python/tests/test_layout.py) can compare sizes and offsets with a C
program built from the headers.
"""

import ctypes
import os

try:
    from . import _paths
except ImportError:  # the source tree: use the build tree's copy (README)
    _paths = None

c_bool = ctypes.c_bool
c_char_p = ctypes.c_char_p
c_double = ctypes.c_double
c_float = ctypes.c_float
c_int = ctypes.c_int
c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_size_t = ctypes.c_size_t
c_uint = ctypes.c_uint
c_uint32 = ctypes.c_uint32
c_uint64 = ctypes.c_uint64
c_void_p = ctypes.c_void_p

SHMCHOP_MESSAGE_MAX = 384
SHMCHOP_DIAG_KEEP = 16
SHMCHOP_ERR_BASE = -1000
SHMCHOP_HEADER_SIZE = 36
SHMCHOP_EXT_FLAG_CHECKSUM = 0x2


def _load():
    """The library: SHMCHOP_LIBRARY when set, then the path this copy of
    the module was configured with (build tree or install prefix, relative
    to this file), then the dynamic loader's search by soname."""
    here = os.path.dirname(os.path.abspath(__file__))
    tried = []
    candidates = [os.environ.get("SHMCHOP_LIBRARY", "")]
    if _paths is not None and _paths.LIBRARY:
        candidates.append(os.path.normpath(os.path.join(here, _paths.LIBRARY)))
    candidates.append(_paths.SONAME if _paths is not None else "libshmchop.so.0")
    for path in candidates:
        if not path:
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(str(e))
    raise ImportError("shmchop: cannot load libshmchop (%s); set SHMCHOP_LIBRARY to its path"
                      % "; ".join(tried))


lib = _load()


class Chop(ctypes.Structure):
    _c_name_ = "shmchop_chop"
    _fields_ = [
        ("num_chans", c_uint32),
        ("length", c_uint32),
        ("rate", c_double),
        ("start", c_int64),
        ("data", ctypes.POINTER(c_float)),
        ("name_buf", ctypes.POINTER(ctypes.c_char)),
        ("name_off", ctypes.POINTER(c_uint32)),
        ("data_cap", c_size_t),
        ("name_buf_cap", c_size_t),
        ("name_off_cap", c_size_t),
    ]


class Finding(ctypes.Structure):
    _c_name_ = "shmchop_finding"
    _fields_ = [
        ("code", c_int),
        ("rule", c_char_p),
        ("field", c_char_p),
        ("message", ctypes.c_char * SHMCHOP_MESSAGE_MAX),
    ]


class Diag(ctypes.Structure):
    _c_name_ = "shmchop_diag"
    _fields_ = [
        ("n_errors", c_uint),
        ("n_warnings", c_uint),
        ("errors", Finding * SHMCHOP_DIAG_KEEP),
        ("warnings", Finding * SHMCHOP_DIAG_KEEP),
    ]


class Header(ctypes.Structure):
    _c_name_ = "shmchop_header"
    _fields_ = [
        ("magic", c_int32),
        ("version", c_int32),
        ("size", c_int32),
        ("num_chans", c_int32),
        ("length", c_int32),
        ("sample_rate", c_float),
        ("names_sent", c_int32),
        ("channel_data_offset", c_int32),
        ("name_data_offset", c_int32),
    ]


class Ext(ctypes.Structure):
    _c_name_ = "shmchop_ext"
    _fields_ = [
        ("ext_magic", c_uint32),
        ("ext_size", c_uint32),
        ("seq", c_uint64),
        ("frame", c_uint64),
        ("start", c_int64),
        ("time_ns", c_uint64),
        ("writer_pid", c_uint32),
        ("flags", c_uint32),
        ("checksum", c_uint32),
        ("reserved", c_uint32),
        ("heartbeat_ns", c_uint64),
    ]


class ImageInfo(ctypes.Structure):
    _c_name_ = "shmchop_image_info"
    _fields_ = [
        ("header", Header),
        ("has_ext", c_bool),
        ("ext", Ext),
        ("checksum_ok", c_bool),
        ("nonfinite", c_uint64),
    ]


class ParseOpts(ctypes.Structure):
    _c_name_ = "shmchop_parse_opts"
    _fields_ = [
        ("object", c_char_p),
        ("strict", c_bool),
        ("count_nonfinite", c_bool),
    ]


class BuildOpts(ctypes.Structure):
    _c_name_ = "shmchop_build_opts"
    _fields_ = [
        ("names", c_bool),
        ("ext", c_bool),
        ("channel_data_offset", c_int32),
        ("name_data_offset", c_int32),
        ("names_sent_value", c_int32),
        ("seq", c_uint64),
        ("frame", c_uint64),
        ("time_ns", c_uint64),
        ("heartbeat_ns", c_uint64),
        ("writer_pid", c_uint32),
        ("flags", c_uint32),
        ("pad_to", ctypes.c_size_t),
    ]


class ReaderParams(ctypes.Structure):
    _c_name_ = "shmchop_reader_params"
    _fields_ = [
        ("active", c_bool),
        ("name", c_char_p),
        ("memtype", c_int),          # enum shmchop_memtype
        ("global_name", c_char_p),
        ("timeslice", c_bool),
        ("scope", c_char_p),
        ("srselect", c_int),         # enum shmchop_srselect
        ("exportmethod", c_int),     # enum shmchop_exportmethod
        ("autoexportroot", c_char_p),
        ("exporttable", c_char_p),
        ("fps", c_double),
        ("maxslice_ms", c_double),
        ("maxqueue", c_double),
        ("strict", c_bool),
        ("lock_timeout_ms", c_uint),
        ("rate", c_double),
    ]


class InfoChannel(ctypes.Structure):
    _c_name_ = "shmchop_info_channel"
    _fields_ = [
        ("name", c_char_p),
        ("value", c_double),
    ]


class WriterOpts(ctypes.Structure):
    _c_name_ = "shmchop_writer_opts"
    _fields_ = [
        ("mode", c_uint),
        ("lock_timeout_ms", c_uint),
        ("initial_size", c_size_t),
        ("payload", ctypes.c_int),  # shmchop_payload: 0 CHOP image, 1 global image
    ]


# Every struct the module declares, for the layout test.
STRUCTS = (Chop, Finding, Diag, Header, Ext, ImageInfo, ParseOpts, BuildOpts, ReaderParams,
           InfoChannel, WriterOpts)

# Enum values the module passes (reader.h); the layout test checks them too.
ENUMS = {
    "SHMCHOP_MEMTYPE_LOCAL": 0, "SHMCHOP_MEMTYPE_GLOBAL": 1,
    "SHMCHOP_SRSELECT_FIRST": 0, "SHMCHOP_SRSELECT_MAX": 1, "SHMCHOP_SRSELECT_MIN": 2,
    "SHMCHOP_SRSELECT_ERR": 3,
    "SHMCHOP_EXPORT_DATINDEX": 0, "SHMCHOP_EXPORT_DATNAME": 1, "SHMCHOP_EXPORT_AUTONAME": 2,
    "SHMCHOP_MESSAGE_MAX": SHMCHOP_MESSAGE_MAX, "SHMCHOP_DIAG_KEEP": SHMCHOP_DIAG_KEEP,
    "SHMCHOP_ERR_BASE": SHMCHOP_ERR_BASE, "SHMCHOP_HEADER_SIZE": SHMCHOP_HEADER_SIZE,
    "SHMCHOP_EXT_FLAG_CHECKSUM": SHMCHOP_EXT_FLAG_CHECKSUM,
}

P = ctypes.POINTER
_c_void_pp = P(c_void_p)


def _proto(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


err_name = _proto("shmchop_err_name", c_char_p, c_int)
strerror = _proto("shmchop_strerror", c_char_p, c_int)
err_rule = _proto("shmchop_err_rule", c_char_p, c_int)

chop_init = _proto("shmchop_chop_init", None, P(Chop))
chop_free = _proto("shmchop_chop_free", None, P(Chop))
chop_reserve = _proto("shmchop_chop_reserve", c_int, P(Chop), c_uint32, c_uint32, c_size_t)
chop_set_names = _proto("shmchop_chop_set_names", c_int, P(Chop), c_char_p, c_size_t)

image_parse = _proto("shmchop_image_parse", c_int, c_void_p, c_size_t, P(ParseOpts), P(Chop),
                     P(ImageInfo), P(Diag))
image_size = _proto("shmchop_image_size", c_int64, P(Chop), P(BuildOpts))
image_build = _proto("shmchop_image_build", c_int, c_void_p, c_size_t, P(Chop), P(BuildOpts),
                     P(c_size_t))

reader_params_init = _proto("shmchop_reader_params_init", None, P(ReaderParams))
reader_open = _proto("shmchop_reader_open", c_int, P(ReaderParams), _c_void_pp,
                     ctypes.c_char_p, c_size_t)
reader_close = _proto("shmchop_reader_close", None, c_void_p)
reader_cook = _proto("shmchop_reader_cook", c_int, c_void_p, c_uint64)
reader_cook_images = _proto("shmchop_reader_cook_images", c_int, c_void_p, c_uint64,
                            P(c_void_p), P(c_size_t), c_uint)
reader_output = _proto("shmchop_reader_output", P(Chop), c_void_p)
reader_errmsg = _proto("shmchop_reader_errmsg", c_char_p, c_void_p)
reader_info = _proto("shmchop_reader_info", c_uint, c_void_p, P(P(InfoChannel)))

writer_open = _proto("shmchop_writer_open", c_int, c_char_p, P(WriterOpts), _c_void_pp,
                     ctypes.c_char_p, c_size_t)
writer_publish = _proto("shmchop_writer_publish", c_int, c_void_p, c_void_p, c_size_t)
writer_close = _proto("shmchop_writer_close", c_int, c_void_p)
writer_errmsg = _proto("shmchop_writer_errmsg", c_char_p, c_void_p)


def text(b):
    """Bytes from the library as str; bytes that are no UTF-8 become U+FFFD."""
    return b.decode("utf-8", "replace") if b is not None else ""
