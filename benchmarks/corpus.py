"""Assemble the benchmark corpus from Debian documentation packages, offline.

The corpus is real, third-party text, so it is never committed: this script rebuilds it,
byte for byte, into a cache directory outside git (``benchmarks/.corpus/`` by default).
It needs two Debian packages, fetched as ``.deb`` files with ``apt-get download`` (no
root needed, nothing is installed) and unpacked with ``dpkg-deb -x``:

``python3.11-doc``
    The Python 3.11 documentation. Its reStructuredText sources (``_sources/*.txt``)
    give the **prose** corpus: the tutorial, HOWTOs, FAQ, language reference and the
    "What's New" essays, hard-wrapped English prose with some code. Its HTML pages for
    the tutorial, HOWTOs and FAQ give the **html** corpus.
``nodejs-doc``
    The Node.js API documentation, whose ``api/*.md`` files give the **markdown**
    corpus: headings, lists, tables, fenced code blocks and long prose sections.

Usage (run ``apt-get update`` once first so that apt knows the packages)::

    python benchmarks/corpus.py            # fetch if needed, assemble, print sizes
    python benchmarks/corpus.py --dir DIR  # use another cache directory

To work without the network, put the two ``.deb`` files in ``<dir>/debs/`` first. The
files are read in sorted path order and joined with one blank line, so the same package
versions always give the same bytes; ``manifest.json`` records the versions, file counts
and sha256 of each corpus, and the benchmark prints them.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent / ".corpus"
"""Where the corpus is built; ``.gitignore`` keeps it out of git."""

PYTHON_DOC = "python3.11-doc"
"""The Debian package of the Python documentation (Debian 12 ships 3.11)."""

NODE_DOC = "nodejs-doc"
"""The Debian package of the Node.js API documentation, in Markdown."""

PROSE_SECTIONS = (
    "tutorial",
    "howto",
    "faq",
    "reference",
    "using",
    "extending",
    "install",
    "installing",
    "distributing",
    "glossary.rst.txt",
    "whatsnew",
)
"""Parts of the Python docs' ``_sources`` that are mostly running prose (the library
and C API references, mostly signatures, are left out)."""

HTML_SECTIONS = ("tutorial", "howto", "faq")
"""Parts of the Python docs' HTML that make the html corpus."""

CORPORA = ("prose", "markdown", "html")
"""The corpus names, in the order the benchmark runs them."""


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(
            f"`{' '.join(cmd)}` failed ({result.returncode}):\n"
            f"{result.stderr.strip()}\n"
            "Run `apt-get update` once so that apt knows the package, or put its .deb "
            "file in the debs/ folder of the corpus directory."
        )
    return result.stdout


def _unpack(package: str, cache: Path) -> tuple[Path, str]:
    """Return the unpacked root of ``package`` and its version; fetch it if needed."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        _run(["apt-get", "download", package], cwd=debs)
        found = sorted(debs.glob(f"{package}_*.deb"))
    if len(found) != 1:
        sys.exit(f"expected one {package}_*.deb in {debs}, found {len(found)}")
    deb = found[0]
    version = _run(["dpkg-deb", "--field", str(deb), "Version"]).strip()
    root = cache / "root" / f"{package}_{version}"
    if not (root / ".done").exists():
        root.mkdir(parents=True, exist_ok=True)
        _run(["dpkg-deb", "-x", str(deb), str(root)])
        (root / ".done").write_text(deb.name + "\n")
    return root, version


def _read(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    return text if text.endswith("\n") else text + "\n"


def _files(
    base: Path, sections: tuple[str, ...], suffixes: tuple[str, ...]
) -> list[Path]:
    paths: list[Path] = []
    for section in sections:
        entry = base / section
        candidates = [entry] if entry.is_file() else entry.rglob("*")
        paths.extend(p for p in candidates if p.is_file() and p.name.endswith(suffixes))
    if not paths:
        sys.exit(f"no {'/'.join(suffixes)} files under {base}: is the package whole?")
    return sorted(paths, key=lambda p: p.relative_to(base).as_posix())


def _single_dir(root: Path, pattern: str) -> Path:
    # The package also links python3.X-doc/html to the real python3.X/html.
    found = sorted(p for p in root.glob(pattern) if p.is_dir() and not p.is_symlink())
    if len(found) != 1:
        sys.exit(f"expected one directory {pattern} under {root}, found {found}")
    return found[0]


def build(cache: Path = DEFAULT_DIR) -> dict[str, dict[str, object]]:
    """Assemble every corpus into ``cache`` and return the manifest."""
    py_root, py_version = _unpack(PYTHON_DOC, cache)
    node_root, node_version = _unpack(NODE_DOC, cache)
    html = _single_dir(py_root, "usr/share/doc/python3*/html")
    node_api = node_root / "usr/share/doc/nodejs/api"

    plan = {
        "prose": (
            f"{PYTHON_DOC} {py_version}",
            (py_root, html / "_sources"),
            _files(html / "_sources", PROSE_SECTIONS, (".rst.txt",)),
            "txt",
        ),
        "markdown": (
            f"{NODE_DOC} {node_version}",
            (node_root, node_api),
            _files(node_api, (".",), (".md", ".md.gz")),
            "md",
        ),
        "html": (
            f"{PYTHON_DOC} {py_version}",
            (py_root, html),
            _files(html, HTML_SECTIONS, (".html",)),
            "html",
        ),
    }
    manifest: dict[str, dict[str, object]] = {}
    for name, (package, (root, base), paths, suffix) in plan.items():
        text = "\n".join(_read(p) for p in paths)
        data = text.encode("utf-8")
        target = cache / f"{name}.{suffix}"
        target.write_bytes(data)
        manifest[name] = {
            "file": target.name,
            "package": package,
            "source": "/" + base.relative_to(root).as_posix(),
            "files": len(paths),
            "bytes": len(data),
            "chars": len(text),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    (cache / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def load(
    cache: Path = DEFAULT_DIR,
) -> tuple[dict[str, str], dict[str, dict[str, object]]]:
    """Return each corpus's text and the manifest; build them first if needed."""
    manifest_path = cache / "manifest.json"
    manifest = (
        json.loads(manifest_path.read_text())
        if manifest_path.exists()
        else build(cache)
    )
    texts: dict[str, str] = {}
    for name in CORPORA:
        data = (cache / str(manifest[name]["file"])).read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest[name]["sha256"]:
            manifest = build(cache)
            data = (cache / str(manifest[name]["file"])).read_bytes()
        texts[name] = data.decode("utf-8")
    return texts, manifest


def describe(manifest: dict[str, dict[str, object]]) -> str:
    """Return a Markdown table of the corpora."""
    lines = [
        "| corpus | MB | files | source |",
        "| --- | ---: | ---: | --- |",
    ]
    for name in CORPORA:
        entry = manifest[name]
        mb = int(str(entry["bytes"])) / 1e6
        lines.append(
            f"| {name} | {mb:.2f} | {entry['files']} | Debian `{entry['package']}`, "
            f"`{entry['source']}` |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="cache directory")
    args = parser.parse_args(argv)
    manifest = build(args.dir)
    print(describe(manifest))
    print()
    for name in CORPORA:
        entry = manifest[name]
        print(f"{name}: {args.dir / str(entry['file'])} sha256 {entry['sha256']}")


if __name__ == "__main__":
    main()
