"""The docs are tests: every ```python block in README.md and docs/**/*.md must run.

One test per markdown file (id = its path relative to the repo root).  A file's python blocks
run in order in one shared namespace, so a later block can use what an earlier one defined,
with the working directory set to a fresh temporary folder.  Markers, on the line directly
before a fence:

    <!-- skip-test -->           the block is shown to readers but not run
    <!-- requires-postgres -->   the block gets POSTGRES_DSN and POSTGRES_SCHEMA (a fresh,
                                 empty schema) in its namespace; the file's test is marked
                                 ``postgres`` and is skipped without ORDERKIT_TEST_POSTGRES_DSN

README.md also carries the two commands a new user copies, each a one-line ```sh block
directly after ``<!-- readme:demo -->`` / ``<!-- readme:test -->``; ``.ci/run`` runs the
test one and the README test below checks their shape.
"""

from __future__ import annotations

import linecache
import re
import sys
import traceback
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

SKIP = "skip-test"
REQUIRES_POSTGRES = "requires-postgres"
BLOCK_MARKERS = frozenset({SKIP, REQUIRES_POSTGRES})
README_MARKERS = ("readme:demo", "readme:test")
PYTHON_LANGS = frozenset({"python", "py", "python3"})

_OPEN_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^<!--\s*(?P<name>[\w:.-]+)\s*-->$")


@dataclass(frozen=True)
class Block:
    """A fenced code block: ``fence_line`` is the 1-based line of its opening fence."""

    fence_line: int
    lang: str
    lines: tuple[str, ...]
    marker: str | None  # name of a ``<!-- name -->`` comment on the line just before the fence

    @property
    def source(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    @property
    def is_python(self) -> bool:
        return self.lang in PYTHON_LANGS


@dataclass
class Markdown:
    label: str  # path relative to the repo root, "/"-separated
    blocks: list[Block] = field(default_factory=list)
    markers: list[tuple[int, str]] = field(default_factory=list)  # (line, name), outside code
    problems: list[str] = field(default_factory=list)

    @property
    def python_blocks(self) -> list[Block]:
        return [block for block in self.blocks if block.is_python]

    @property
    def runnable_blocks(self) -> list[Block]:
        return [block for block in self.python_blocks if block.marker != SKIP]

    @property
    def needs_postgres(self) -> bool:
        return any(block.marker == REQUIRES_POSTGRES for block in self.runnable_blocks)


def _marker_name(line: str) -> str | None:
    match = _MARKER.match(line.strip())
    return match.group("name") if match else None


def _fence(line: str) -> re.Match[str] | None:
    match = _OPEN_FENCE.match(line)
    if match and match.group("fence").startswith("`") and "`" in match.group("info"):
        return None  # not a fence: backtick fences cannot have backticks in the info string
    return match


def _lang(fence: re.Match[str]) -> str:
    words = fence.group("info").strip().split()
    return words[0].lower() if words else ""


def parse_markdown(text: str, label: str) -> Markdown:
    """Find the fenced code blocks and marker comments of a markdown text.

    Fences follow CommonMark: ``` or ~~~ (3 or more), closed by the same character at least
    as long; indented fences (in list items) have that indentation removed from their lines.
    """
    doc = Markdown(label)
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _fence(lines[i])
        if opening is None:
            name = _marker_name(lines[i])
            if name is not None:
                doc.markers.append((i + 1, name))
            if name in BLOCK_MARKERS:
                following = _fence(lines[i + 1]) if i + 1 < len(lines) else None
                if following is None or _lang(following) not in PYTHON_LANGS:
                    doc.problems.append(
                        f"{label}:{i + 1}: <!-- {name} --> must be on the line directly "
                        "before a ```python fence"
                    )
            i += 1
            continue
        indent = len(opening.group("indent").expandtabs(4))
        fence = opening.group("fence")
        lang = _lang(opening)
        marker = _marker_name(lines[i - 1]) if i > 0 else None
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            body.append(_strip_indent(lines[j], indent))
            j += 1
        if j == len(lines):
            doc.problems.append(f"{label}:{i + 1}: code fence {fence!r} is never closed")
        if lang in PYTHON_LANGS and marker is not None and marker not in BLOCK_MARKERS:
            if marker.startswith(("skip", "require")):
                doc.problems.append(
                    f"{label}:{i}: unknown marker <!-- {marker} --> before a python block "
                    f"(known: {', '.join(sorted(BLOCK_MARKERS))})"
                )
            marker = None
        doc.blocks.append(Block(i + 1, lang, tuple(body), marker))
        i = j + 1
    return doc


def _strip_indent(line: str, indent: int) -> str:
    """Remove up to ``indent`` columns of leading whitespace (fences nested in list items)."""
    expanded = line.expandtabs(4)
    stripped = expanded.lstrip(" ")
    return expanded[min(indent, len(expanded) - len(stripped)) :]


def run_python_blocks(
    doc: Markdown,
    namespace: dict[str, Any],
    postgres: Callable[[], Mapping[str, Any]] | None = None,
) -> None:
    """Execute the file's runnable python blocks in order in ``namespace``.

    A failing block raises AssertionError naming ``file:fence_line`` and showing the original
    exception; traceback line numbers are the markdown file's own line numbers.
    """
    __tracebackhide__ = True  # the report is the markdown traceback, not this harness
    for block in doc.runnable_blocks:
        if block.marker == REQUIRES_POSTGRES:
            if postgres is None:
                raise AssertionError(f"{doc.label}:{block.fence_line}: block needs PostgreSQL")
            namespace.update(postgres())
        filename = f"{doc.label}:{block.fence_line}"
        # Pad so line N of the compiled code is line N of the markdown file.
        source = "\n" * block.fence_line + block.source
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            exec(compile(source, filename, "exec"), namespace)
        except (Exception, SystemExit) as exc:
            tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
            details = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
            raise AssertionError(
                f"{filename}: the python block at line {block.fence_line} of {doc.label} "
                f"failed with {type(exc).__name__}\n\n{details}"
            ) from None


def _module_namespace(label: str) -> tuple[str, types.ModuleType]:
    """A real module for the examples, so pickling, dataclasses, attrs and cattrs
    (``typing.get_type_hints``) can find classes the examples define."""
    name = "orderkit_docs_" + re.sub(r"\W", "_", label)
    module = types.ModuleType(name, f"Examples from {label}")
    return name, module


def markdown_files() -> Iterable[Path]:
    if README.is_file():
        yield README
    if DOCS.is_dir():
        yield from sorted(DOCS.rglob("*.md"))


def _load(path: Path) -> Markdown:
    return parse_markdown(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())


DOCUMENTS = [_load(path) for path in markdown_files()]


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(
            doc,
            id=doc.label,
            marks=[pytest.mark.postgres] if doc.needs_postgres else [],
        )
        for doc in DOCUMENTS
        if doc.runnable_blocks
    ],
)
def test_markdown_python_blocks(
    doc: Markdown,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    __tracebackhide__ = True
    monkeypatch.chdir(tmp_path)
    postgres: Callable[[], Mapping[str, Any]] | None = None
    if doc.needs_postgres:
        # Resolved before any block runs, so a skip (no DSN) never leaves a file half run.
        values = {
            "POSTGRES_DSN": request.getfixturevalue("postgres_dsn"),
            "POSTGRES_SCHEMA": request.getfixturevalue("postgres_schema"),
        }

        def postgres() -> Mapping[str, Any]:
            return values

    name, module = _module_namespace(doc.label)
    monkeypatch.setitem(sys.modules, name, module)
    run_python_blocks(doc, module.__dict__, postgres)


def test_the_readmes_first_example_runs_twice_in_the_same_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A first order") :]
    source = section[section.index("```python\n") + 10 : section.index("\n```\n")]
    monkeypatch.chdir(tmp_path)
    for run in (1, 2):
        namespace: dict[str, Any] = {"__name__": f"readme_first_order_{run}"}
        exec(compile(source, "README.md", "exec"), namespace)
        namespace["service"].storage.close()


def test_markdown_markers_and_fences() -> None:
    problems = [problem for doc in DOCUMENTS for problem in doc.problems]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def readme_commands(text: str, label: str = "README.md") -> dict[str, str]:
    """The one-line command after each ``<!-- readme:... -->`` marker.

    Raises AssertionError describing what is wrong if the markers or blocks are malformed.
    """
    doc = parse_markdown(text, label)
    readme = [(line, name) for line, name in doc.markers if name.startswith("readme:")]
    names = [name for _, name in readme]
    assert names == list(README_MARKERS), (
        f"{label} must contain each of {', '.join(f'<!-- {m} -->' for m in README_MARKERS)} "
        f"exactly once, in that order; found {names or 'none'}"
    )
    blocks = {block.fence_line: block for block in doc.blocks}
    commands: dict[str, str] = {}
    for line, name in readme:
        block = blocks.get(line + 1)  # the fence must be on the line directly after the marker
        assert block is not None, f"{label}:{line}: <!-- {name} --> must be followed by a fence"
        where = f"{label}:{line + 1}: the block after <!-- {name} -->"
        assert block.lang in {"sh", "bash", "shell", "console"}, (
            f"{where} must be ```sh, not {block.lang!r}"
        )
        assert len(block.lines) == 1, (
            f"{where} must hold exactly one command line, found {len(block.lines)} lines"
        )
        assert block.lines[0].strip(), f"{where} holds an empty command line"
        commands[name] = block.lines[0].strip()
    return commands


def test_readme_has_the_two_marked_commands() -> None:
    assert README.is_file(), "README.md is missing"
    commands = readme_commands(README.read_text(encoding="utf-8"))
    demo, test = commands["readme:demo"], commands["readme:test"]
    assert demo.endswith("orderkit demo"), f"demo command must end in 'orderkit demo': {demo}"
    assert re.search(r"(^|[\s/])pytest(\s|$)", test), f"test command must run pytest: {test}"


def test_the_status_machine_drawn_in_architecture_md_is_the_default_machine() -> None:
    from orderkit.domain.lifecycle import default_order_machine

    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    diagrams = [
        b.source for b in parse_markdown(text, "architecture.md").blocks if b.lang == "mermaid"
    ]

    assert [default_order_machine().to_mermaid()] == diagrams
