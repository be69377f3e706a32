"""Reading a text line in-process with Tesseract's library."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vision import ocr
from vision.synth.fonts import font


def line(text: str) -> np.ndarray:
    image = Image.new("L", (40 + 30 * len(text), 64), 255)
    ImageDraw.Draw(image).text((20, 8), text, fill=0, font=font("sans_bold", 40))
    return np.asarray(image)


def test_a_line_reads_back() -> None:
    assert ocr.read_line(line("KUALA LUMPUR")) == "KUALA LUMPUR"
    assert ocr.read_line(np.full((64, 300), 255, np.uint8)) == ""  # blank paper
    assert ocr.read_line(np.zeros((2, 300), np.uint8)) == ""  # too thin to hold a letter


def test_threads_read_side_by_side_each_its_own_line() -> None:
    words = ["TAWAU", "SANDAKAN", "LABUAN", "MIRI"]
    read: dict[str, str] = {}

    def reader(word: str) -> None:
        for _ in range(3):
            read[word] = ocr.read_line(line(word))

    threads = [threading.Thread(target=reader, args=(word,)) for word in words]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert read == {word: word for word in words}


def test_a_machine_without_tesseract_is_told_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "LIBRARY", "libtesseract-not-here.so.0")
    ocr._library.cache_clear()
    ocr.reader_available.cache_clear()
    outcome: list[object] = []

    def fresh_thread() -> None:  # a thread with no engine yet
        try:
            ocr.read_line(line("MIRI"))
        except ocr.ReaderUnavailableError as error:
            outcome.append(error)
        outcome.append(ocr.reader_available())

    thread = threading.Thread(target=fresh_thread)
    thread.start()
    thread.join()
    ocr._library.cache_clear()
    ocr.reader_available.cache_clear()
    assert isinstance(outcome[0], ocr.ReaderUnavailableError) and "cannot be loaded" in str(
        outcome[0]
    )
    assert outcome[1] is False


def test_a_reading_past_its_deadline_is_given_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    long_line = np.tile(line("KUALA LUMPUR"), (1, 6))
    monkeypatch.setattr(ocr, "DEADLINE_MS", 1)
    with caplog.at_level(logging.WARNING, logger=ocr.__name__):
        assert ocr.read_line(long_line) == ""
    assert "given up" in caplog.text
    monkeypatch.setattr(ocr, "DEADLINE_MS", 2000)
    assert ocr.read_line(line("MIRI")) == "MIRI"  # the engine reads on afterwards
