"""Notification channels: adapters for :class:`orderkit.ports.Channel`.

One module per technology. Those that need only the standard library are re-exported here;
the webhook channel lives in :mod:`orderkit.adapters.notify.webhook` because it needs httpx
(``pip install 'orderkit[webhooks]'``).

- :class:`SmtpChannel` (``smtp``): email over SMTP, STARTTLS or SMTPS, optional login.
- :class:`FileChannel` (``files``): one ``.eml`` or ``.json`` file per message in a folder.
- :class:`MemoryChannel` (``memory``): a list, for tests and docs; can be told to fail.
- ``WebhookChannel`` (``webhook``): signed JSON POSTs in the Standard Webhooks scheme.
"""

from orderkit.adapters.notify.checks import check_message, check_single_line
from orderkit.adapters.notify.files import FileChannel
from orderkit.adapters.notify.memory import MemoryChannel
from orderkit.adapters.notify.mime import build_email
from orderkit.adapters.notify.smtp import SmtpChannel

__all__ = [
    "FileChannel",
    "MemoryChannel",
    "SmtpChannel",
    "build_email",
    "check_message",
    "check_single_line",
]
