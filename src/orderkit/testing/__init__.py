"""Test kits for adapters: the contracts every storage adapter, notification channel and
carrier passes, and whole order lifecycles.

A host that writes its own storage adapter proves it behaves like the shipped ones (errors
included) by running the same two suites orderkit runs against memory, SQLite and
PostgreSQL: :class:`StorageContract` (the port: what an adapter must do) and
:class:`ServiceContract` (what the service does over it)::

    import itertools

    import pytest

    from orderkit.testing import ServiceContract, StorageContract


    class MyStorageMaker:
        @pytest.fixture
        def make_storage(self, tmp_path):
            count = itertools.count()
            return lambda: MyStorage(tmp_path / f"shop-{next(count)}")


    class TestMyStoragePort(MyStorageMaker, StorageContract):
        pass


    class TestMyStorageService(MyStorageMaker, ServiceContract):
        pass

Channels do the same with :class:`ChannelContract` (see :mod:`orderkit.testing.channels`),
and carriers with :class:`CarrierContract` and a ``make_carrier`` fixture (see
:mod:`orderkit.testing.carriers`).

Needs the ``testing`` extra: ``pip install 'orderkit[testing]'`` (pytest and hypothesis;
in a checkout of orderkit, ``pip install -e '.[testing]'``).
"""

from orderkit._extras import install_hint

try:
    import pytest
except ImportError as exc:
    raise ImportError(
        f"orderkit.testing needs pytest and hypothesis ({exc}); {install_hint('testing')}"
    ) from exc

# The contracts' checks are plain ``assert`` statements in an installed package; asking pytest
# to rewrite them gives hosts the same detailed failure diffs as in their own test files.
pytest.register_assert_rewrite(
    "orderkit.testing.builders",
    "orderkit.testing.storage",
    "orderkit.testing.records",
    "orderkit.testing.outbox",
    "orderkit.testing.service",
    "orderkit.testing.lifecycle",
    "orderkit.testing.channels",
    "orderkit.testing.carriers",
)

from orderkit.testing.carriers import CarrierContract  # noqa: E402 - after the rewrite hook
from orderkit.testing.channels import ChannelContract  # noqa: E402
from orderkit.testing.service import ServiceContract  # noqa: E402
from orderkit.testing.storage import StorageContract  # noqa: E402

__all__ = ["CarrierContract", "ChannelContract", "ServiceContract", "StorageContract"]
