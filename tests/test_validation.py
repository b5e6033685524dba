"""Checks on untrusted payloads (qa/domain/validation.py): what no database here could store
is refused as the sender's own error, before it reaches a write shared with others."""
import pytest

from qa.domain.errors import DomainError
from qa.domain.validation import INT_MAX, INT_MIN, get_int, get_str, storable


@pytest.mark.parametrize("value", [0, 1, INT_MAX, INT_MIN])
def test_integers_in_the_columns_range_pass(value):
    assert get_int({"id": value}, "id") == value


@pytest.mark.parametrize("value", [INT_MAX + 1, INT_MIN - 1, 2**63, 2**70, -(2**64)])
def test_integers_past_the_columns_range_are_refused(value):
    with pytest.raises(DomainError) as err:
        get_int({"id": value}, "id")
    assert err.value.code == "bad_request" and err.value.field == "id"
    assert "range" in err.value.message


@pytest.mark.parametrize("value", [True, False, "1", 1.0, None, [1], {"id": 1}])
def test_integers_of_the_wrong_type_are_refused(value):
    with pytest.raises(DomainError, match="must be an integer"):
        get_int({"id": value}, "id")


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfffy", "\x00"])
def test_text_no_database_can_store_is_refused(text):
    assert not storable(text)
    with pytest.raises(DomainError) as err:
        get_str({"text": text}, "text")
    assert err.value.code == "bad_request" and err.value.field == "text"


@pytest.mark.parametrize("text", ["¿Cómo?", "ça va", "😀 emoji", "\t tab", "中文", "\u200b zero width"])
def test_any_storable_text_passes(text):
    assert storable(text)
    assert get_str({"text": text}, "text") == text.strip()
