"""Tests of the test harness itself: the markdown runner (test_docs.py) and conftest.py.

CI trusts these to fail loudly: a doc example that is silently not run, or a PostgreSQL test
that is silently skipped, would make a green build meaningless.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from test_docs import SKIP, parse_markdown, readme_commands, run_python_blocks

CONFTEST = Path(__file__).with_name("conftest.py").read_text(encoding="utf-8")

README_OK = """\
# orderkit

<!-- readme:demo -->
```sh
python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/orderkit demo
```

<!-- readme:test -->
```sh
python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/python -m pytest
```
"""


def md(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --- parsing ------------------------------------------------------------------------------


def test_parse_finds_blocks_with_fence_lines_langs_and_markers() -> None:
    doc = parse_markdown(
        md(
            """
            # Title

            ```python
            a = 1
            ```

            <!-- skip-test -->
            ```python
            b = 2
            ```
            <!-- requires-postgres -->
            ```py
            c = 3
            ```

            ```sh
            echo hi
            ```
            """
        ),
        "x.md",
    )
    assert [(b.fence_line, b.lang, b.lines, b.marker) for b in doc.blocks] == [
        (3, "python", ("a = 1",), None),
        (8, "python", ("b = 2",), SKIP),
        (12, "py", ("c = 3",), "requires-postgres"),
        (16, "sh", ("echo hi",), None),
    ]
    assert [b.fence_line for b in doc.runnable_blocks] == [3, 12]
    assert doc.needs_postgres
    assert doc.problems == []


def test_parse_ignores_fences_shown_inside_other_fences_and_dedents_list_items() -> None:
    doc = parse_markdown(
        md(
            """
            ````markdown
            ```python
            not_run()
            ```
            ````

            1. In a list:

               ```python
               if True:
                   y = 1
               ```

            ~~~python title="tilde"
            z = 2
            ~~~
            """
        ),
        "x.md",
    )
    assert [(b.lang, b.lines) for b in doc.python_blocks] == [
        ("python", ("if True:", "    y = 1")),
        ("python", ("z = 2",)),
    ]


def test_parse_reports_unclosed_fences_and_markers_that_attach_to_nothing() -> None:
    doc = parse_markdown(
        md(
            """
            <!-- skip-test -->

            ```python
            a = 1
            ```
            <!-- requires-postgres -->
            ```sh
            psql
            ```
            <!-- skip-tests -->
            ```python
            b = 1
            ```
            ```python
            never_closed = True
            """
        ),
        "x.md",
    )
    assert len(doc.problems) == 4, doc.problems
    assert doc.problems[0].startswith("x.md:1: <!-- skip-test --> must be on the line directly")
    assert doc.problems[1].startswith("x.md:6: <!-- requires-postgres --> must be on the line")
    assert doc.problems[2].startswith("x.md:10: unknown marker <!-- skip-tests -->")
    assert doc.problems[3] == "x.md:14: code fence '```' is never closed"
    # an unknown marker does not skip the block: it runs, and fails loudly if it is broken
    assert [b.fence_line for b in doc.runnable_blocks] == [3, 11, 14]


# --- running ------------------------------------------------------------------------------


def test_blocks_share_one_namespace_and_skipped_blocks_do_not_run() -> None:
    doc = parse_markdown(
        md(
            """
            ```python
            total = 40
            ```
            <!-- skip-test -->
            ```python
            raise RuntimeError("shown, not run")
            ```
            ```python
            total += 2
            ```
            """
        ),
        "x.md",
    )
    namespace: dict[str, Any] = {}
    run_python_blocks(doc, namespace)
    assert namespace["total"] == 42


def test_failure_names_file_and_fence_line_with_the_original_traceback() -> None:
    doc = parse_markdown(
        md(
            """
            Intro.

            ```python
            def halve(n):
                return n / 0
            ```

            More text.

            ```python
            ok = 1
            halve(ok)
            ```
            """
        ),
        "docs/guide.md",
    )
    with pytest.raises(AssertionError) as excinfo:
        run_python_blocks(doc, {})
    message = str(excinfo.value)
    assert message.startswith("docs/guide.md:10: the python block at line 10 of docs/guide.md")
    assert 'File "docs/guide.md:10", line 12, in <module>' in message
    assert "halve(ok)" in message
    assert 'File "docs/guide.md:3", line 5, in halve' in message
    assert "return n / 0" in message
    assert message.rstrip().endswith("ZeroDivisionError: division by zero")


def test_syntax_errors_point_at_the_markdown_line() -> None:
    doc = parse_markdown("text\n\n```python\nx = 1\ny = (\n```\n", "README.md")
    with pytest.raises(AssertionError, match=r"README\.md:3: .* failed with SyntaxError") as info:
        run_python_blocks(doc, {})
    assert 'File "README.md:3", line 5' in str(info.value)


def test_sys_exit_in_a_block_is_a_failure() -> None:
    doc = parse_markdown("```python\nimport sys\nsys.exit(3)\n```\n", "x.md")
    with pytest.raises(AssertionError, match="SystemExit"):
        run_python_blocks(doc, {})


def test_postgres_values_are_injected_only_for_marked_blocks() -> None:
    doc = parse_markdown(
        md(
            """
            ```python
            assert "POSTGRES_DSN" not in globals()
            ```
            <!-- requires-postgres -->
            ```python
            seen = (POSTGRES_DSN, POSTGRES_SCHEMA)
            ```
            """
        ),
        "x.md",
    )
    namespace: dict[str, Any] = {}
    run_python_blocks(
        doc, namespace, lambda: {"POSTGRES_DSN": "postgresql://h/db", "POSTGRES_SCHEMA": "s"}
    )
    assert namespace["seen"] == ("postgresql://h/db", "s")


# --- README commands ----------------------------------------------------------------------


def test_readme_commands_are_extracted() -> None:
    assert readme_commands(README_OK) == {
        "readme:demo": "python3 -m venv .venv && .venv/bin/pip install -q -e . "
        "&& .venv/bin/orderkit demo",
        "readme:test": "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' "
        "&& .venv/bin/python -m pytest",
    }


@pytest.mark.parametrize(
    ("readme", "error"),
    [
        pytest.param(README_OK.replace("<!-- readme:test -->", ""), "exactly once", id="missing"),
        pytest.param(README_OK + "\n<!-- readme:demo -->\n", "exactly once", id="twice"),
        pytest.param(
            README_OK.replace("<!-- readme:demo -->\n", "<!-- readme:demo -->\n\n"),
            "must be followed by a fence",
            id="gap",
        ),
        pytest.param(
            README_OK.replace("orderkit demo\n", "orderkit demo\necho more\n"),
            "exactly one command line",
            id="two-lines",
        ),
    ],
)
def test_malformed_readme_commands_are_rejected(readme: str, error: str) -> None:
    with pytest.raises(AssertionError, match=error):
        readme_commands(readme)


# --- conftest.py: slow tests and PostgreSQL policy (run in an inner pytest) ---------------

INNER_INI = """\
[pytest]
addopts = --strict-markers -p no:hypothesispytest -p no:cacheprovider
markers =
    slow: slow
    postgres: postgres
"""

INNER_TESTS = """\
import pytest

def test_fast():
    pass

@pytest.mark.slow
def test_big():
    pass

def test_db(postgres_dsn):
    assert postgres_dsn
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("ORDERKIT_TEST_POSTGRES_DSN", raising=False)
    monkeypatch.delenv("ORDERKIT_REQUIRE_POSTGRES", raising=False)
    pytester.makeini(INNER_INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=INNER_TESTS)
    return pytester


def test_slow_tests_are_skipped_by_default(inner: pytest.Pytester) -> None:
    result = inner.runpytest("-rs", "-k", "not db")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*full-size run; use pytest -m slow*"])


def test_slow_tests_run_with_m_slow(inner: pytest.Pytester) -> None:
    inner.runpytest("-m", "slow").assert_outcomes(passed=1, deselected=2)


def test_postgres_tests_skip_without_a_dsn(inner: pytest.Pytester) -> None:
    result = inner.runpytest("-rs", "-k", "db")
    result.assert_outcomes(skipped=1, deselected=2)
    result.stdout.fnmatch_lines(["*set ORDERKIT_TEST_POSTGRES_DSN=postgresql://*"])


def test_postgres_tests_fail_without_a_dsn_when_required(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERKIT_REQUIRE_POSTGRES", "1")
    result = inner.runpytest("-k", "db")
    result.assert_outcomes(errors=1, deselected=2)
    result.stdout.fnmatch_lines(["*ORDERKIT_REQUIRE_POSTGRES=1 but ORDERKIT_TEST_POSTGRES_DSN*"])


def test_unreachable_postgres_fails_instead_of_skipping(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.setenv("ORDERKIT_TEST_POSTGRES_DSN", "postgresql://u:hunter2@127.0.0.1:1/x")
    result = inner.runpytest("-k", "db")
    result.assert_outcomes(errors=1, deselected=2)
    result.stdout.fnmatch_lines(["*is set but PostgreSQL cannot be reached*"])
    assert "hunter2" not in result.stdout.str()


@pytest.mark.postgres
def test_postgres_schema_is_fresh_and_dropped_afterwards(
    postgres_dsn: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    monkeypatch.setenv("ORDERKIT_TEST_POSTGRES_DSN", postgres_dsn)
    pytester.makeini(INNER_INI)
    pytester.makeconftest(CONFTEST)
    record = pytester.path / "schemas.txt"
    pytester.makepyfile(
        test_schema=f"""
        import psycopg

        def test_a(postgres_schema, postgres_dsn):
            assert postgres_schema.startswith("ok_test_")
            with psycopg.connect(postgres_dsn) as conn:
                tables = conn.execute(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = %s", [postgres_schema]
                ).fetchone()[0]
                conn.execute(f'CREATE TABLE "{{postgres_schema}}".t (id int)')
            assert tables == 0
            with open({str(record)!r}, "a") as f:
                f.write(postgres_schema + "\\n")

        test_b = test_a
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)
    names = record.read_text().split()
    assert len(set(names)) == 2
    with psycopg.connect(postgres_dsn) as conn:
        left = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [names]
        ).fetchall()
    assert left == []
