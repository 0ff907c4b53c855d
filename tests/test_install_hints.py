"""A missing optional dependency says what to install, for an install from the package index
and for a checkout of orderkit alike."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import tomllib

from orderkit._extras import install_hint

ROOT = Path(__file__).resolve().parent.parent

_BLOCK_PYTEST = """
import sys

class BlockPytest:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pytest", "_pytest", "hypothesis"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, BlockPytest())
"""


def test_importing_the_test_kits_without_pytest_says_what_to_install() -> None:
    script = _BLOCK_PYTEST + textwrap.dedent(
        """
        try:
            import orderkit.testing
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )

    assert (
        "orderkit.testing needs pytest and hypothesis (No module named 'pytest'); "
        + install_hint("testing")
        + "\n"
    ) == result.stdout


def test_an_install_hint_gives_the_command_for_the_index_and_for_a_checkout() -> None:
    assert (
        "install it with: pip install 'orderkit[webhooks]' "
        "(in a checkout of orderkit: pip install -e '.[webhooks]')"
    ) == install_hint("webhooks")


def test_every_extra_an_install_hint_names_is_one_the_project_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    named = {
        extra
        for path in (ROOT / "src" / "orderkit").rglob("*.py")
        for extra in re.findall(r"install_hint\(['\"](\w+)['\"]\)", path.read_text())
    }

    assert ({"address", "postgres", "testing", "webhooks"}, set()) == (
        named,
        named - set(declared),
    )
