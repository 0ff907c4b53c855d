"""Payloads on frozen values are frozen too: a message's data cannot change after the fact."""

from __future__ import annotations

import json
import pickle

import pytest

from orderkit.notify.message import FrozenDict, Message


def a_message(data: dict[str, object]) -> Message:
    return Message("m-1", "m-1", "order_placed", "lin@example.cn", "Thanks", "Hi", data=data)


def test_a_messages_data_cannot_be_changed() -> None:
    message = a_message({"total": "10.00"})

    with pytest.raises(TypeError):
        message.data["total"] = "0.00"  # type: ignore[index]

    assert {"total": "10.00"} == message.data


def test_nested_data_is_frozen_and_lists_become_tuples() -> None:
    message = a_message({"lines": [{"sku": "TEA"}]})

    with pytest.raises(TypeError):
        message.data["lines"][0]["sku"] = "CUP"
    assert ({"sku": "TEA"},) == message.data["lines"]


def test_changing_the_dict_a_message_was_made_from_changes_nothing_in_it() -> None:
    source: dict[str, object] = {"total": "10.00"}
    message = a_message(source)

    source["total"] = "0.00"

    assert "10.00" == message.data["total"]


def test_frozen_data_is_still_json_and_pickles() -> None:
    data = FrozenDict({"lines": [{"sku": "TEA", "qty": 2}]})

    assert '{"lines": [{"sku": "TEA", "qty": 2}]}' == json.dumps(data)
    assert data == pickle.loads(pickle.dumps(data))
