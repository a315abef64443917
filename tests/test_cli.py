"""Tests for the ``ctxchunk`` command: output, JSON, and exit codes."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ctxchunk import __version__
from ctxchunk.cli import (
    DEFAULT_POLICIES,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    main,
    parse_policy,
)
from ctxchunk.tokens import get_tokenizer

PROSE = (
    Path(__file__).parent.parent / "examples" / "texts" / "python-faq-design.rst.txt"
)


class TestSplit:
    def test_table_lists_every_piece(self, capsys):
        """The default output lists each piece and a summary line."""
        assert main(["split", str(PROSE), "--max-tokens", "512"]) == EXIT_OK
        out = capsys.readouterr().out
        rows = [line for line in out.splitlines() if line[:4].strip().isdigit()]
        assert len(rows) >= 10
        assert "pieces" in out.splitlines()[-1]
        assert "bound 512" in out

    def test_json_lines_are_lossless_and_exact(self, capsys):
        """--json prints one object per piece; the texts rebuild the file exactly."""
        assert main(["split", str(PROSE), "--max-tokens", "300", "--json"]) == 0
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        text = PROSE.read_text(encoding="utf-8")
        assert "".join(r["text"] for r in records) == text
        tokenizer = get_tokenizer()
        assert all(tokenizer.count(r["text"]) == r["tokens"] <= 300 for r in records)

    def test_reads_stdin(self, monkeypatch, capsys):
        """A dash reads the text from standard input."""
        monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("Hi.\n\nBye."))
        assert main(["split", "-", "--json"]) == EXIT_OK
        assert json.loads(capsys.readouterr().out)["text"] == "Hi.\n\nBye."


class TestCount:
    def test_counts_files_and_total(self, tmp_path, capsys):
        """Each file's exact count is printed, then a total."""
        a, b = tmp_path / "a.txt", tmp_path / "b.txt"
        a.write_text("hello world", encoding="utf-8")
        b.write_text("<|endoftext|>", encoding="utf-8")
        assert main(["count", str(a), str(b), "--tokenizer", "gpt-4"]) == EXIT_OK
        lines = capsys.readouterr().out.splitlines()
        assert [line.split()[0] for line in lines] == ["2", "7", "9"]


class TestExitCodes:
    def test_missing_file_is_input_error(self, capsys):
        """A missing file exits 1 with the path in the message."""
        assert main(["count", "no-such-file.txt"]) == EXIT_INPUT
        assert "no-such-file.txt: no such file" in capsys.readouterr().err

    def test_non_utf8_file_is_input_error(self, tmp_path, capsys):
        """A file that is not UTF-8 exits 1 and says so."""
        path = tmp_path / "latin1.txt"
        path.write_bytes("café".encode("latin-1"))
        assert main(["split", str(path)]) == EXIT_INPUT
        assert "not UTF-8" in capsys.readouterr().err

    def test_unknown_tokenizer_is_input_error(self, capsys):
        """An unknown tokenizer name exits 1 naming it."""
        assert main(["count", str(PROSE), "--tokenizer", "nope"]) == EXIT_INPUT
        assert "'nope'" in capsys.readouterr().err

    @pytest.mark.parametrize(
        "argv",
        [[], ["split"], ["split", "x", "--max-tokens", "0"], ["frobnicate"]],
    )
    def test_bad_command_line_is_usage_error(self, argv):
        """A wrong command line exits 2, argparse's convention."""
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == EXIT_USAGE

    def test_version(self, capsys):
        """--version prints the package version."""
        with pytest.raises(SystemExit) as exc:
            main(["--version"])
        assert exc.value.code == 0
        assert capsys.readouterr().out.strip() == f"ctxchunk {__version__}"

    def test_installed_entry_point(self):
        """The console script runs as a real process."""
        result = subprocess.run(
            [sys.executable, "-m", "ctxchunk.cli", "count", str(PROSE)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0
        assert result.stdout.split()[0].isdigit()


SESSIONS = Path(__file__).parent.parent / "examples" / "sessions"


def _small_session(tmp_path: Path) -> Path:
    """A short session that overflows a 300-token budget."""
    lines = [{"type": "instructions", "t_ms": 0, "text": "Be brief."}]
    for i in range(12):
        role = "user" if i % 2 == 0 else "assistant"
        text = f"Turn {i}: " + "words about the weather and the sea " * 6
        lines.append(
            {"type": "turn", "t_ms": 1000 * (i + 1), "role": role, "text": text}
        )
        lines.append({"type": "request", "t_ms": 1000 * (i + 1) + 1})
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def _probe_session(tmp_path: Path) -> Path:
    """The short session of :func:`_small_session`, with two fact probes."""
    path = _small_session(tmp_path)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"role"', '"id": "t0", "role"', 1)
    probes = [
        {"type": "probe", "t_ms": 20_000, "needle": "Turn 0:", "introduced": "t0"},
        {"type": "probe", "t_ms": 20_001, "needle": "Turn 11:", "introduced": 23},
    ]
    lines += [json.dumps(probe) for probe in probes]
    path.write_text("\n".join(lines) + "\n")
    return path


def _table_rows(out: str) -> list[str]:
    """The policy rows of the comparison tables in ``out``."""
    lines = out.splitlines()
    rows = []
    for index, line in enumerate(lines):
        if line.startswith("---"):
            for row in lines[index + 1 :]:
                if row.startswith(("cliff:", "recall:", "rt events:")) or not row:
                    break
                rows.append(row)
    return rows


class TestSimulate:
    def test_prints_a_comparison_per_session(self, tmp_path, capsys):
        """The default output is one comparison table with a row per policy, the
        baseline first and the recommended policy right after it."""
        path = _small_session(tmp_path)
        assert main(["simulate", str(path), "--budget", "300"]) == EXIT_OK
        out = capsys.readouterr().out
        rows = [line.split()[0] for line in _table_rows(out)]
        assert rows == list(DEFAULT_POLICIES)
        assert rows[:2] == ["baseline", "recommended"]

    def test_table_has_recall_and_recoverable_columns(self, tmp_path, capsys):
        """The table shows recall and recoverable recall as found/probes, matching
        the JSON summary, and its footnote explains both."""
        path = _probe_session(tmp_path)
        argv = ["simulate", str(path), "--budget", "300", "--policy", "drop-oldest"]
        assert main([*argv, "--json", "-"]) == EXIT_OK
        (policy,) = json.loads(capsys.readouterr().out)["sessions"][0]["policies"]
        assert main(argv) == EXIT_OK
        out = capsys.readouterr().out
        header = next(line for line in out.splitlines() if line.startswith("policy"))
        assert header.split()[:5] == ["policy", "cliff", "cliff%", "recall", "recov"]
        (row,) = _table_rows(out)
        recall, recoverable = row.split()[3:5]
        # In the JSON "probes" is the list of outcomes (the table's count is its
        # length).
        assert len(policy["probes"]) == 2
        assert recall == f"{policy['probes_found']}/2"
        assert recoverable == f"{policy['probes_recoverable']}/2"
        assert "recov: in the window or readable back through a marker" in out

    def test_recommended_spec(self):
        """`recommended` names the exported default policy."""
        from ctxchunk.policies import Recommended

        policy = parse_policy("recommended")
        assert isinstance(policy, Recommended)
        assert policy == Recommended()

    def test_small_budget_gets_a_quarter_for_chunks(self, tmp_path, capsys):
        """Below 8,000 tokens of budget the default chunk is a quarter of it."""
        path = _small_session(tmp_path)
        argv = ["simulate", str(path), "--budget", "300", "--policy", "drop-oldest"]
        assert main(argv) == EXIT_OK
        assert "chunks of at most 75 tokens" in capsys.readouterr().out

    @pytest.mark.parametrize("chunk", ["300", "301"])
    def test_chunk_tokens_not_below_budget_is_usage_error(
        self, tmp_path, capsys, chunk
    ):
        """--chunk-tokens at or above --budget exits 2 and says what to do."""
        path = _small_session(tmp_path)
        argv = ["simulate", str(path), "--budget", "300", "--chunk-tokens", chunk]
        assert main(argv) == EXIT_USAGE
        err = capsys.readouterr().err
        assert f"--chunk-tokens {chunk} must be below --budget 300" in err
        assert "leave --chunk-tokens out for 75" in err

    def test_chunk_tokens_the_window_rejects_is_usage_error(self, tmp_path, capsys):
        """A chunk size below the budget that the window still rejects exits 2 with
        the window's reason."""
        path = _small_session(tmp_path)
        argv = ["simulate", str(path), "--budget", "300", "--chunk-tokens", "299"]
        assert main(argv) == EXIT_USAGE
        assert "--budget 300 with --chunk-tokens 299: " in capsys.readouterr().err

    def test_json_and_report_files(self, tmp_path, capsys):
        """--json writes every series; --report writes a self-contained HTML page."""
        path = _small_session(tmp_path)
        out_json, report = tmp_path / "out.json", tmp_path / "report.html"
        argv = ["simulate", str(path), "--budget", "300", "--policy", "drop-oldest"]
        argv += ["--json", str(out_json), "--report", str(report)]
        assert main(argv) == EXIT_OK
        data = json.loads(out_json.read_text())
        (result,) = data["sessions"]
        assert [p["policy"] for p in result["policies"]] == ["drop-oldest"]
        assert max(result["policies"][0]["series"]["window_tokens"]) <= 300
        html = report.read_text()
        assert html.startswith("<!DOCTYPE html>")
        assert "<svg" in html
        assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")

    def test_parallel_equals_serial(self, tmp_path, capsys):
        """--jobs 2 gives byte-identical JSON to a serial run."""
        path = _small_session(tmp_path)
        sessions = [str(path), str(SESSIONS / "support_call.jsonl")]
        outputs = []
        for jobs in ("1", "2"):
            argv = ["simulate", *sessions, "--budget", "16000", "--jobs", jobs]
            assert main([*argv, "--json", "-"]) == EXIT_OK
            outputs.append(capsys.readouterr().out)
        assert outputs[0] == outputs[1]

    def test_chained_policy_spec(self, tmp_path, capsys):
        """Specs joined with + become one chained policy."""
        path = _small_session(tmp_path)
        spec = "clear-tool-results:2+role-priority"
        argv = ["simulate", str(path), "--budget", "300", "--policy", spec]
        assert main(argv) == EXIT_OK
        assert spec in capsys.readouterr().out

    def test_unknown_policy_is_usage_error(self, tmp_path, capsys):
        """An unknown policy name exits 2 and says where the list is."""
        path = _small_session(tmp_path)
        argv = ["simulate", str(path), "--budget", "300", "--policy", "nope"]
        assert main(argv) == EXIT_USAGE
        assert "unknown policy 'nope'" in capsys.readouterr().err

    def test_bad_session_line_is_input_error(self, tmp_path, capsys):
        """A malformed session log exits 1 and names the line."""
        path = tmp_path / "bad.jsonl"
        path.write_text(
            '{"type": "turn", "t_ms": 0, "role": "user", "text": "hi"}\n{oops\n'
        )
        assert main(["simulate", str(path), "--budget", "300"]) == EXIT_INPUT
        assert "line 2" in capsys.readouterr().err

    def test_missing_budget_is_usage_error(self, tmp_path):
        """--budget is required."""
        with pytest.raises(SystemExit) as exc:
            main(["simulate", str(_small_session(tmp_path))])
        assert exc.value.code == EXIT_USAGE


class TestSimulateEdges:
    @pytest.mark.parametrize("option", ["--report", "--json"])
    def test_directory_output_fails_before_the_run(self, tmp_path, capsys, option):
        """An output that is a directory, or in a missing one, exits 1 up front."""
        path = _small_session(tmp_path)
        argv = ["simulate", str(path), "--budget", "300", option, str(tmp_path)]
        assert main(argv) == EXIT_INPUT
        err = capsys.readouterr().err
        assert f"{option} {tmp_path}: is a directory" in err
        assert "Traceback" not in err
        missing = str(tmp_path / "nope" / "out.html")
        argv[-1] = missing
        assert main(argv) == EXIT_INPUT
        assert "no such directory" in capsys.readouterr().err

    def test_broken_pipe_is_quiet(self):
        """`ctxchunk split FILE | head -1` ends without a traceback."""
        command = (
            f"{shlex.quote(sys.executable)} -m ctxchunk.cli split "
            f"{shlex.quote(str(PROSE))} --max-tokens 5 | head -1"
        )
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.stderr == ""
        assert result.stdout.count("\n") == 1
        assert result.returncode in (0, 141)

    def test_unknown_model_is_usage_error(self, tmp_path, capsys):
        """--model without prices exits 2 and lists the models it knows."""
        path = _small_session(tmp_path)
        argv = ["simulate", str(path), "--budget", "300", "--model", "bogus"]
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == EXIT_USAGE
        assert "no prices for model 'bogus'; use one of gpt-realtime" in (
            capsys.readouterr().err
        )

    def test_chained_baseline_says_why(self, tmp_path, capsys):
        """`baseline+drop-oldest` says baseline cannot be chained, not 'unknown'."""
        path = _small_session(tmp_path)
        argv = ["simulate", str(path), "--budget", "300"]
        assert main([*argv, "--policy", "baseline+drop-oldest"]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert "baseline cannot be chained" in err
        assert "unknown policy" not in err
        assert main([*argv, "--policy", "drop-oldest:3"]) == EXIT_USAGE
        assert "drop-oldest takes no arguments" in capsys.readouterr().err

    def test_directory_argument_and_aggregate_table(self, tmp_path, capsys):
        """A directory of logs (plain and .gz) is simulated; many sessions print the
        distribution table with the share that beat the baseline."""
        import gzip

        folder = tmp_path / "logs"
        folder.mkdir()
        text = _small_session(tmp_path).read_text()
        for i in range(4):
            (folder / f"s{i}.jsonl").write_text(text)
        with gzip.open(folder / "s4.jsonl.gz", "wt") as handle:
            handle.write(text)
        argv = ["simulate", str(folder), "--budget", "300", "--json", "-"]
        assert main(argv) == EXIT_OK
        data = json.loads(capsys.readouterr().out)
        assert data["aggregate"]["sessions"] == 5
        assert [s["session"] for s in data["sessions"]] == ["s0", "s1", "s2"]
        assert main(argv[:-2]) == EXIT_OK
        out = capsys.readouterr().out
        assert "5 sessions: budget 300" in out
        assert "worst one-step loss, share of history" in out
        assert "beat baseline" in out

    def test_chat_and_realtime_logs(self, tmp_path, capsys):
        """OpenAI Chat message files and Realtime event logs are read directly."""
        chat = Path(__file__).parent / "fixtures" / "chat_support_session.json"
        argv = ["simulate", str(chat), "--budget", "4000", "--policy", "drop-oldest"]
        assert main(argv) == EXIT_OK
        assert "chat_support_session: budget 4,000" in capsys.readouterr().out
        events = [
            {"type": "session.update", "session": {"instructions": "Be kind."}},
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Hello there"}],
                },
            },
            {"type": "response.create"},
        ]
        log = tmp_path / "voice.jsonl"
        log.write_text("\n".join(json.dumps(e) for e in events))
        argv = ["simulate", str(log), "--budget", "4000", "--format", "realtime"]
        assert main(argv) == EXIT_OK
        assert "voice: budget 4,000" in capsys.readouterr().out

    def test_unknown_log_format_lists_the_formats(self, tmp_path, capsys):
        """A file in no known format exits 1 with the formats understood."""
        path = tmp_path / "metrics.json"
        path.write_text('[{"metric": "latency", "ms": 40}]')
        assert main(["simulate", str(path), "--budget", "300"]) == EXIT_INPUT
        err = capsys.readouterr().err
        assert "cannot tell the log's format" in err
        assert "chat: OpenAI Chat Completions messages" in err
        assert "realtime: OpenAI Realtime event log" in err

    def test_keep_going_lists_the_failed(self, tmp_path, capsys):
        """--keep-going leaves out a broken log, counts the rest, and names it."""
        folder = tmp_path / "logs"
        folder.mkdir()
        text = _small_session(tmp_path).read_text()
        (folder / "a.jsonl").write_text(text)
        (folder / "b.jsonl").write_text('{"type": "turn"}\n')
        argv = ["simulate", str(folder), "--budget", "300"]
        assert main(argv) == EXIT_INPUT
        assert "b.jsonl" in capsys.readouterr().err
        assert main([*argv, "--keep-going", "--json", "-"]) == EXIT_OK
        captured = capsys.readouterr()
        data = json.loads(captured.out)
        assert data["aggregate"]["sessions"] == 1
        assert len(data["failed"]) == 1
        assert "1 of 2 sessions failed" in captured.err

    def test_ray_engine_equals_local(self, tmp_path, capsys):
        """--engine ray (a local Ray instance) prints the same JSON as local."""
        pytest.importorskip("ray", reason="pip install 'ctxchunk[ray]'")
        folder = tmp_path / "logs"
        folder.mkdir()
        for name in ("support_call", "resume_chat"):
            (folder / f"{name}.jsonl").write_text(
                (SESSIONS / f"{name}.jsonl").read_text()
            )
        argv = ["simulate", str(folder), "--budget", "16000", "--json", "-"]
        assert main([*argv, "--jobs", "2"]) == EXIT_OK
        local = capsys.readouterr().out
        assert main([*argv, "--engine", "ray", "--jobs", "2"]) == EXIT_OK
        assert capsys.readouterr().out == local

    def test_address_needs_ray_engine(self, tmp_path, capsys):
        """--address without --engine ray is a usage error."""
        path = _small_session(tmp_path)
        argv = ["simulate", str(path), "--budget", "300", "--address", "auto"]
        assert main(argv) == EXIT_USAGE
        assert "--address needs --engine ray" in capsys.readouterr().err
