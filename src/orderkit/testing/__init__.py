"""Test kits for adapters: the contracts every storage adapter and every notification channel
passes, and whole order lifecycles.

A host that writes its own storage adapter proves it behaves like the shipped ones (errors
included) by running the same suite orderkit runs against memory, SQLite and PostgreSQL::

    import itertools

    import pytest

    from orderkit.testing import StorageContract


    class TestMyStorage(StorageContract):
        @pytest.fixture
        def make_storage(self, tmp_path):
            count = itertools.count()
            return lambda: MyStorage(tmp_path / f"shop-{next(count)}")

Channels do the same with :class:`ChannelContract` (see :mod:`orderkit.testing.channels`).

Needs the ``testing`` extra: ``pip install 'orderkit[testing]'`` (pytest and hypothesis).
"""

import pytest

# The contract's checks are plain ``assert`` statements in an installed package; asking pytest
# to rewrite them gives hosts the same detailed failure diffs as in their own test files.
pytest.register_assert_rewrite(
    "orderkit.testing.storage", "orderkit.testing.lifecycle", "orderkit.testing.channels"
)

from orderkit.testing.channels import ChannelContract  # noqa: E402 - after the rewrite hook
from orderkit.testing.storage import StorageContract  # noqa: E402

__all__ = ["ChannelContract", "StorageContract"]
