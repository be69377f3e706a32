"""Reading one text line in-process: Tesseract's C API (Debian's libtesseract) via ctypes.

Search reads a line or two of every photo, where a Tesseract process (about 130 ms to
start) would cost more than the rest of the search. The library is loaded once and each
thread keeps its own engine (about 110 ms to start, once); a line then takes 12-20 ms.
ctypes lets go of the GIL while Tesseract reads, so threads read side by side. Nothing is
downloaded: the English model comes with Debian's tesseract-ocr package.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import threading
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)
LIBRARY = "libtesseract.so.5"
SINGLE_LINE = 7  # Tesseract's page segmentation mode for one line of text
DEADLINE_MS = 2000  # a line reads in 12-20 ms; one that takes this long is given up
BLANK = 160  # a line image with nothing darker than this holds no ink to read


class ReaderUnavailableError(RuntimeError):
    """Tesseract's library or its English model is not on this machine."""


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    # one thread each for Tesseract's own loops: search and ingestion read in parallel
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError as error:
        raise ReaderUnavailableError(f"{LIBRARY} cannot be loaded: {error}") from error
    handle, text = ctypes.c_void_p, ctypes.c_void_p
    lib.TessBaseAPICreate.restype = handle
    lib.TessBaseAPIInit3.argtypes = [handle, ctypes.c_char_p, ctypes.c_char_p]
    lib.TessBaseAPIInit3.restype = ctypes.c_int
    lib.TessBaseAPISetPageSegMode.argtypes = [handle, ctypes.c_int]
    lib.TessBaseAPISetVariable.argtypes = [handle, ctypes.c_char_p, ctypes.c_char_p]
    lib.TessBaseAPISetVariable.restype = ctypes.c_int
    lib.TessBaseAPISetImage.argtypes = [handle, ctypes.c_void_p, *[ctypes.c_int] * 4]
    lib.TessMonitorCreate.restype = handle
    lib.TessMonitorSetDeadlineMSecs.argtypes = [handle, ctypes.c_int]
    lib.TessMonitorDelete.argtypes = [handle]
    lib.TessBaseAPIRecognize.argtypes = [handle, handle]
    lib.TessBaseAPIRecognize.restype = ctypes.c_int
    lib.TessBaseAPIGetUTF8Text.argtypes = [handle]
    lib.TessBaseAPIGetUTF8Text.restype = text
    lib.TessDeleteText.argtypes = [text]
    lib.TessBaseAPIDelete.argtypes = [handle]
    return lib


class _Engine:
    """One Tesseract engine, set to read a single line of English."""

    def __init__(self) -> None:
        self.lib = _library()
        self.handle = self.lib.TessBaseAPICreate()
        if self.lib.TessBaseAPIInit3(self.handle, None, b"eng") != 0:
            self.lib.TessBaseAPIDelete(self.handle)
            raise ReaderUnavailableError("Tesseract's English model (eng.traineddata) is missing")
        self.lib.TessBaseAPISetPageSegMode(self.handle, SINGLE_LINE)
        # Tesseract's own diagnostics (statistics of an empty line) are not for our users
        self.lib.TessBaseAPISetVariable(self.handle, b"debug_file", os.devnull.encode())

    def read(self, line: NDArray[np.uint8]) -> str:
        image = np.ascontiguousarray(line, dtype=np.uint8)
        height, width = image.shape
        self.lib.TessBaseAPISetImage(
            self.handle, image.ctypes.data, width, height, 1, image.strides[0]
        )
        monitor = self.lib.TessMonitorCreate()
        try:  # a reading that runs past its deadline is given up: search must answer
            self.lib.TessMonitorSetDeadlineMSecs(monitor, DEADLINE_MS)
            if self.lib.TessBaseAPIRecognize(self.handle, monitor) != 0:
                log.warning("reading a line took over %d ms and was given up", DEADLINE_MS)
                return ""
        finally:
            self.lib.TessMonitorDelete(monitor)
        text = self.lib.TessBaseAPIGetUTF8Text(self.handle)
        if not text:
            return ""
        try:
            return ctypes.string_at(text).decode("utf-8", "replace").strip()
        finally:
            self.lib.TessDeleteText(text)


_local = threading.local()
_engines: list[_Engine] = []  # every thread's engine, ended at exit
_engines_lock = threading.Lock()


@atexit.register
def _end_engines() -> None:
    """End the engines before the library unloads (which otherwise reports their models as
    leaked on the way out of every command that read a line)."""
    with _engines_lock:
        for engine in _engines:
            engine.lib.TessBaseAPIDelete(engine.handle)
        _engines.clear()


def read_line(line: NDArray[np.uint8]) -> str:
    """What one line of text reads (a grey image, dark text on light paper, text about 48
    px tall); raises ReaderUnavailableError where Tesseract is not installed."""
    engine = getattr(_local, "engine", None)
    if engine is None:
        engine = _local.engine = _Engine()
        with _engines_lock:
            _engines.append(engine)
    if min(line.shape[:2]) < 4 or int(line.min()) > BLANK:
        return ""  # too thin to hold a letter, or blank paper
    return engine.read(line)


@lru_cache(maxsize=1)
def reader_available() -> bool:
    try:
        read_line(np.full((48, 48), 255, np.uint8))
    except ReaderUnavailableError as error:
        log.warning("text lines cannot be read in-process: %s", error)
        return False
    return True
