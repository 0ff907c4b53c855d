"""Test kits for storage adapters: the contract every adapter passes, and whole lifecycles.

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

Needs the ``testing`` extra: ``pip install 'orderkit[testing]'`` (pytest and hypothesis).
"""

import pytest

# The contract's checks are plain ``assert`` statements in an installed package; asking pytest
# to rewrite them gives hosts the same detailed failure diffs as in their own test files.
pytest.register_assert_rewrite("orderkit.testing.storage", "orderkit.testing.lifecycle")

from orderkit.testing.storage import StorageContract  # noqa: E402 - after the rewrite hook

__all__ = ["StorageContract"]
