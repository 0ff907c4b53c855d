"""Telling people: the outbox, the dispatcher, receipts rendered and delivered, engagement.

The outbox values and the notifier that turns events into receipt drafts, the dispatcher
that delivers due entries through channels, the jinja2 renderer and its sandbox, engagement
tracking (receipt opens and clicks), the delivery report, and Standard Webhooks signing for
receivers. Channels themselves are adapters (:mod:`orderkit.adapters.notify`).
"""
