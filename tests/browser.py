"""Headless Chromium for the tests, benchmark and screenshots of `costcalc view`: Debian's chromium and
chromedriver (apt-get install chromium chromium-driver; .ci/run installs them), driven by selenium. Never a
downloaded browser: the driver and the browser are given by path.

`chromium()` raises Unavailable (a reason to skip) where either binary or selenium is missing.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zlib

BROWSER = os.environ.get("COSTCALC_CHROMIUM", "/usr/bin/chromium")
DRIVER = os.environ.get("COSTCALC_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")


class Unavailable(Exception):
    """No headless Chromium here: the message says what is missing."""


class Chromium:
    """A selenium driver on a fresh profile, removed on close()."""

    def __init__(self, width: int, height: int):
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError:
            raise Unavailable("selenium is not installed (pip install '.[test]')") from None
        for path in (BROWSER, DRIVER):
            if not os.path.exists(path):
                raise Unavailable(f"{path} is missing (apt-get install chromium chromium-driver)")
        self.profile = tempfile.mkdtemp(prefix="costcalc-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = BROWSER
        for flag in (*FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            self.driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        except Exception as e:  # a browser that does not start here is a reason to skip, said in full
            shutil.rmtree(self.profile, ignore_errors=True)
            raise Unavailable(f"chromium does not start: {str(e).splitlines()[0]}") from None

    def errors(self) -> list:
        """The console's errors (uncaught exceptions included) since the last call."""
        return [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def chromium(width: int = 1400, height: int = 900) -> Chromium:
    return Chromium(width, height)


def png_pixels(data: bytes) -> tuple:
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's
    screenshots are): enough to check colours without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, "an 8-bit RGB(A) PNG"
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, channels)])
        previous = line
    return width, height, rows
