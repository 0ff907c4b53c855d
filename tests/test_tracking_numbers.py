"""Tracking-number formats: known answers worked by hand, and single-digit changes.

Where the examples come from:

- ``AA473124829GB``: the example in the Wikipedia article "S10 (UPU standard)".
- ``RR123456785CN``: the shape of a China Post registered letter, as in the issue text.
- ``1Z999AA10123456784``: a UPS number widely published as a sample.
- ``0307 1790 0005 2348 3741``: a 20-digit USPS number widely quoted as an example.

Every check digit below is also worked out in a comment from the scheme's definition, so a
wrong implementation cannot agree with itself.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from orderkit.domain.tracking_numbers import (
    identify_carriers,
    mod10_31_check_digit,
    s10_check_digit,
    tracking_url,
    ups_check_digit,
    validate_tracking_number,
)
from orderkit.errors import InvalidTrackingNumber, ValidationError
from strategies import (
    s10_numbers,
    spec_s10_check,
    spec_usps_check,
    ups_numbers,
    usps_numbers,
)

# UPU S10


def test_the_wikipedia_s10_example_is_valid() -> None:
    # 4*8 + 7*6 + 3*4 + 1*2 + 2*3 + 4*5 + 8*9 + 2*7 = 200; 200 mod 11 = 2; 11 - 2 = 9
    assert "AA473124829GB" == validate_tracking_number("upu", "AA473124829GB")


def test_a_china_post_registered_letter_number_is_valid() -> None:
    # 1*8 + 2*6 + 3*4 + 4*2 + 5*3 + 6*5 + 7*9 + 8*7 = 204; 204 mod 11 = 6; 11 - 6 = 5
    assert "RR123456785CN" == validate_tracking_number("china-post", "RR123456785CN")


def test_an_s10_remainder_of_1_gives_the_check_digit_0() -> None:
    # 4*3 = 12; 12 mod 11 = 1; 11 - 1 = 10, which the scheme writes as 0
    assert 0 == s10_check_digit("00004000")


def test_an_s10_remainder_of_0_gives_the_check_digit_5() -> None:
    # sum 0; 11 - 0 = 11, which the scheme writes as 5
    assert 5 == s10_check_digit("00000000")


def test_an_s10_number_with_a_wrong_check_digit_is_refused_with_the_right_one() -> None:
    with pytest.raises(InvalidTrackingNumber, match="check digit should be 9, not 8"):
        validate_tracking_number("upu", "AA473124828GB")


def test_s10_cannot_tell_two_serials_whose_remainders_are_0_and_6() -> None:
    # 00000000: sum 0 -> 5.  00030000: 3*2 = 6, 11 - 6 = 5.  One digit apart, both valid:
    # the scheme's own blind spot, not a bug here.
    assert ["RR000000005CN", "RR000300005CN"] == [
        validate_tracking_number("upu", n) for n in ("RR000000005CN", "RR000300005CN")
    ]


@given(s10_numbers(), st.integers(min_value=2, max_value=10), st.integers(1, 9))
def test_changing_one_digit_of_an_s10_number_is_caught_unless_remainders_0_and_6_swap(
    number: str, position: int, step: int
) -> None:
    changed_digit = str((int(number[position]) + step) % 10)
    changed = number[:position] + changed_digit + number[position + 1 :]
    serial, changed_serial = number[2:10], changed[2:10]
    weights = [8, 6, 4, 2, 3, 5, 9, 7]

    def remainder(s: str) -> int:
        return sum(w * int(d) for w, d in zip(weights, s, strict=True)) % 11

    blind_spot = position < 10 and {remainder(serial), remainder(changed_serial)} == {0, 6}
    assert blind_spot == bool(identify_carriers(changed, ("upu",)))


def test_usps_accepts_s10_numbers_it_issued() -> None:
    assert "EE000040000US" == validate_tracking_number("usps", "EE000040000US")


def test_china_post_refuses_an_s10_number_issued_elsewhere() -> None:
    with pytest.raises(InvalidTrackingNumber, match="end in 'CN', not 'GB'"):
        validate_tracking_number("china-post", "AA473124829GB")


# UPS


def test_the_ups_sample_number_is_valid() -> None:
    # after 1Z: 9 9 9 A A 1 0 1 2 3 4 5 6 7 8, A = (65 - 63) % 10 = 2
    # odd positions 9+9+2+0+2+4+6+8 = 40; even positions (9+2+1+1+3+5+7) * 2 = 56
    # 40 + 56 = 96; 100 - 96 = 4
    assert "1Z999AA10123456784" == validate_tracking_number("ups", "1Z999AA10123456784")


def test_a_ups_number_with_a_letter_in_the_shipper_number_is_checked() -> None:
    # after 1Z: 1 2 3 4 5 E 6 6 0 5 2 7 2 2 3, E = (69 - 63) % 10 = 6
    # odd 1+3+5+6+0+2+2+3 = 22; even (2+4+6+6+5+7+2) * 2 = 64; 86 -> 4
    assert 4 == ups_check_digit("12345E660527223")


def test_ups_cannot_see_a_change_of_five_in_a_doubled_position() -> None:
    # The second 9 (an even position) becomes 4: the doubled sum drops by 10, the check
    # digit stays 4. The scheme's own blind spot, not a bug here.
    assert "1Z949AA10123456784" == validate_tracking_number("ups", "1Z949AA10123456784")


def test_a_ups_number_with_a_wrong_check_digit_is_refused() -> None:
    with pytest.raises(InvalidTrackingNumber, match="check digit should be 4, not 5"):
        validate_tracking_number("ups", "1Z999AA10123456785")


@given(ups_numbers(), st.integers(min_value=2, max_value=17), st.integers(1, 9))
def test_changing_one_digit_of_a_ups_number_is_caught_unless_it_moves_a_doubled_digit_by_5(
    number: str, position: int, step: int
) -> None:
    if not number[position].isdigit():
        return  # a letter of the shipper number: not a digit change
    changed_digit = str((int(number[position]) + step) % 10)
    changed = number[:position] + changed_digit + number[position + 1 :]
    # position counts from 0 in the whole number; in the body after "1Z" it is position - 1
    # counting from 1, so even body positions are odd indexes here.
    doubled = position < 17 and (position - 1) % 2 == 0
    blind_spot = doubled and step == 5
    assert blind_spot == bool(identify_carriers(changed, ("ups",)))


# USPS


def test_a_20_digit_usps_number_is_valid() -> None:
    # data 0307179000052348374, from the right: odd positions 4+3+4+2+0+0+9+1+0+0 = 23,
    # times 3 = 69; even positions 7+8+3+5+0+0+7+7+3 = 40; 69 + 40 = 109; 110 - 109 = 1
    assert "03071790000523483741" == validate_tracking_number("usps", "0307 1790 0005 2348 3741")


def test_a_20_digit_usps_number_checked_with_91_in_front_is_valid() -> None:
    # Publication 91: the check of 7196901075600307738 is computed on 917196901075600307738,
    # giving 5 (on the digits alone it would be 3)
    assert "71969010756003077385" == validate_tracking_number("usps", "7196 9010 7560 0307 7385")


def test_a_20_digit_usps_number_valid_under_neither_convention_names_both_check_digits() -> None:
    with pytest.raises(
        InvalidTrackingNumber, match=r"should be 3 \(or 5 with '91' in front\), not 0"
    ):
        validate_tracking_number("usps", "71969010756003077380")


def test_a_22_digit_impb_number_is_valid() -> None:
    # data 940010000000000000000: from the right, odd positions hold the 1 and the 9,
    # (1 + 9) * 3 = 30; even positions hold the 4; 34 -> 6
    assert 6 == mod10_31_check_digit("940010000000000000000")


def test_an_impb_routing_prefix_is_dropped() -> None:
    scanned = "420" + "12345" + "9400100000000000000006"
    assert "9400100000000000000006" == validate_tracking_number("usps", scanned)


def test_an_impb_number_with_a_wrong_check_digit_is_refused() -> None:
    with pytest.raises(InvalidTrackingNumber, match="check digit should be 6, not 1"):
        validate_tracking_number("usps", "9400100000000000000001")


@given(usps_numbers(), st.data())
def test_changing_any_one_digit_of_a_usps_number_is_caught(
    number: str, data: st.DataObject
) -> None:
    # 20-digit numbers are left out: accepting the Publication 91 check as well lets
    # through the changes that move the check by exactly 2 (see the module docstring).
    assume(len(number) > 20)
    position = data.draw(st.integers(0, len(number) - 1))
    step = data.draw(st.integers(1, 9))
    changed = number[:position] + str((int(number[position]) + step) % 10) + number[position + 1 :]
    assert [] == identify_carriers(changed, ("usps",))


@given(usps_numbers())
def test_usps_agrees_with_publication_199(number: str) -> None:
    assert int(number[-1]) == spec_usps_check(number[:-1]) == mod10_31_check_digit(number[:-1])


@given(st.text("0123456789", min_size=8, max_size=8))
def test_s10_agrees_with_the_upu_definition(serial: str) -> None:
    assert spec_s10_check(serial) == s10_check_digit(serial)


# SF Express and China Post domestic: formats without a published check digit


@pytest.mark.parametrize("number", ["SF1234567890123", "sf 123456789012"])
def test_sf_express_numbers_are_sf_and_12_or_13_digits(number: str) -> None:
    assert number.replace(" ", "").upper() == validate_tracking_number("sf-express", number)


@pytest.mark.parametrize("number", ["SF12345678901", "SF12345678901234", "SX1234567890123"])
def test_other_shapes_are_not_sf_express_numbers(number: str) -> None:
    with pytest.raises(InvalidTrackingNumber, match="'SF' followed by 12 or 13 digits"):
        validate_tracking_number("sf-express", number)


@pytest.mark.parametrize("number", ["1100123456789", "9876543210123"])
def test_china_post_domestic_numbers_are_13_digits_from_1_or_9(number: str) -> None:
    assert number == validate_tracking_number("china-post", number)


def test_a_13_digit_number_starting_with_2_is_not_china_posts() -> None:
    with pytest.raises(InvalidTrackingNumber, match="13 digits starting"):
        validate_tracking_number("china-post", "2100123456789")


# Input handling, identification and pages


def test_digits_from_other_scripts_are_not_digits() -> None:
    with pytest.raises(InvalidTrackingNumber):
        validate_tracking_number("usps", "٩٤٠٠١٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٦")


def test_a_number_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidTrackingNumber, match="a tracking number is a string"):
        validate_tracking_number("ups", 1234)  # type: ignore[arg-type]


def test_an_unknown_carrier_code_is_a_validation_error_listing_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="known carriers: upu, china-post") as raised:
        validate_tracking_number("fedex", "123")
    assert "carrier" == raised.value.field


def test_a_cn_s10_number_is_both_china_posts_and_a_upu_number() -> None:
    assert ["upu", "china-post"] == identify_carriers("RR123456785CN")


@pytest.mark.parametrize(
    ("carrier", "number", "url"),
    [
        ("ups", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        (
            "usps",
            "9400100000000000000006",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000006",
        ),
        (
            "sf-express",
            "SF1234567890123",
            "https://www.sf-express.com/chn/en/waybill/waybill-detail/SF1234567890123",
        ),
        ("china-post", "1100123456789", "https://www.ems.com.cn/queryList?mailNum=1100123456789"),
        (
            "upu",
            "AA473124829GB",
            "https://www.royalmail.com/track-your-item#/tracking-results/AA473124829GB",
        ),
        ("upu", "RR123456785CN", "https://www.ems.com.cn/queryList?mailNum=RR123456785CN"),
        ("upu", "RR123456785NZ", "https://www.17track.net/en/track?nums=RR123456785NZ"),
    ],
)
def test_each_carrier_links_to_its_tracking_page(carrier: str, number: str, url: str) -> None:
    assert url == tracking_url(carrier, number)
