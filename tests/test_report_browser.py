"""Tests that the HTML report renders in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from ctxchunk._report import write_report
from ctxchunk.policies import DropOldest
from ctxchunk.session import load_session
from ctxchunk.simulate import WholeUpdateBaseline, simulate

EXAMPLES = Path(__file__).parent.parent / "examples" / "sessions"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1200, 2400

pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no chromium binary on PATH; install it with `apt-get install -y chromium`",
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert BROWSER is not None
    # The background-networking flags keep Chromium from calling Google's services,
    # which a closed network refuses (and which would make the test depend on it).
    argv = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={WIDTH},{HEIGHT}",
        *args,
    ]
    return subprocess.run(argv, capture_output=True, timeout=120, check=True)


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    at, idat = 8, b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        if kind == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    session = load_session(EXAMPLES / "support_call.jsonl")
    policies = {"baseline": WholeUpdateBaseline(), "drop-oldest": DropOldest()}
    result = simulate(session, policies, 16_000)
    return write_report(result, tmp_path_factory.mktemp("report") / "report.html")


class TestReportInChromium:
    def test_dom_has_table_rows_and_charts(self, report, tmp_path):
        """Chromium's DOM of the report holds both tables' rows and four SVG charts."""
        dom = _chromium(tmp_path, "--dump-dom", report.as_uri()).stdout.decode()
        # The comparison and the losses table, each a header and a row per policy.
        assert dom.count("<table>") == 2
        assert dom.count("<tr>") == 6
        assert dom.count("<td>baseline</td>") == 2
        assert dom.count("<td>drop-oldest</td>") == 2
        assert "<th>recoverable recall</th>" in dom
        assert "<th>of it replaced or cleared</th>" in dom
        assert dom.count("<svg") == 4
        assert dom.count("<polyline") == 4

    def test_screenshot_is_not_blank(self, report, tmp_path):
        """The screenshot is a full-size PNG with many distinct pixel values (drawn)."""
        shot = tmp_path / "report.png"
        _chromium(tmp_path, f"--screenshot={shot}", report.as_uri())
        data = shot.read_bytes()
        assert len(data) > 20_000
        width, height, pixels = _png_pixels(data)
        assert (width, height) == (WIDTH, HEIGHT)
        assert len(set(pixels)) > 64
