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


@pytest.fixture(scope="module")
def fleet_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of 12 generated sessions under three policies, two in detail."""
    from ctxchunk._aggregate import aggregate_of, summarize
    from ctxchunk._generate import generate_session
    from ctxchunk._report import write_fleet_report
    from ctxchunk.policies import Recommended

    policies = {
        "baseline": WholeUpdateBaseline(),
        "drop-oldest": DropOldest(),
        "recommended": Recommended(),
    }
    results = [
        simulate(generate_session(seed, turns=12), policies, 3000) for seed in range(12)
    ]
    aggregate = aggregate_of(list(policies), (summarize(r) for r in results))
    path = tmp_path_factory.mktemp("fleet") / "fleet.html"
    return write_fleet_report(aggregate, results[:2], path)


class TestFleetReportInChromium:
    def test_dom_has_distributions_and_detail(self, fleet_report, tmp_path):
        """The many-session report has a percentile table and a CDF with one line per
        policy for each of the six metrics, the beat-the-baseline bars, and the
        per-session charts of the two detailed sessions."""
        dom = _chromium(tmp_path, "--dump-dom", fleet_report.as_uri()).stdout.decode()
        assert "Simulation of 12 sessions" in dom
        assert dom.count('aria-label="CDF of') == 6
        # Six CDFs of three policies, plus per detailed session three line charts
        # of three policies (tokens, cost; the loss chart draws stems).
        assert dom.count("<polyline") == 6 * 3 + 2 * 2 * 3
        assert "Sessions where the policy beat baseline" in dom
        assert dom.count("<th>p99</th>") == 6
        assert "Simulation of random-0</h1>" in dom
        assert "Simulation of random-1</h1>" in dom
        assert "random-2" not in dom

    def test_screenshot_is_not_blank(self, fleet_report, tmp_path):
        """The distribution report's screenshot is full-size and drawn."""
        shot = tmp_path / "fleet.png"
        _chromium(tmp_path, f"--screenshot={shot}", fleet_report.as_uri())
        width, height, pixels = _png_pixels(shot.read_bytes())
        assert (width, height) == (WIDTH, HEIGHT)
        assert len(set(pixels)) > 64
