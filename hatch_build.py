"""Build hook: compile the gettext catalogs (``.po`` -> ``.mo``) with babel.

Runs for wheels and editable installs alike, so an installed orderkit always has compiled
catalogs next to their sources. The ``.mo`` files are build output (ignored by git) and are
shipped as artifacts. Without them orderkit still works from a plain checkout: it compiles
the ``.po`` sources in memory (see ``orderkit.notify.render.load_translations``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileCatalogsHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(self.root) / "src" / "orderkit" / "locale"
        for po in sorted(root.glob("*/LC_MESSAGES/*.po")):
            with po.open("rb") as fp:
                catalog = read_po(fp, locale=po.parent.parent.name)
            with po.with_suffix(".mo").open("wb") as fp:
                write_mo(fp, catalog)
