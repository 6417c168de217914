"""``schemas.common.Text``: which characters it refuses, over every code point."""
import pytest
from marshmallow import ValidationError

from schemas.common import Text


def refused_by_rule(ch: str, multiline: bool) -> bool:
    """The rule, spelled out: C0 controls and DEL (a multiline text keeps tab, newline and
    carriage return), and lone surrogates."""
    code = ord(ch)
    if multiline and ch in "\t\n\r":
        return False
    return code < 32 or code == 127 or 0xD800 <= code <= 0xDFFF


@pytest.mark.parametrize("multiline", [False, True])
def test_every_code_point_is_judged_by_the_rule(multiline):
    field = Text(10, multiline=multiline)
    wrong = []
    for code in range(0x110000):
        ch = chr(code)
        try:
            field.deserialize("a" + ch + "b")
            refused = False
        except ValidationError:
            refused = True
        if refused != refused_by_rule(ch, multiline):
            wrong.append(hex(code))
    assert wrong == []


def test_messages_name_the_reason_and_text_is_kept_or_stripped():
    with pytest.raises(ValidationError, match="Control characters"):
        Text(50000, multiline=True).deserialize("x" * 40000 + "\x0b")
    with pytest.raises(ValidationError, match="lone surrogate"):
        Text(100).deserialize("王\udc00")
    assert Text(100).deserialize("  谈心  ") == "谈心"
    assert Text(100, multiline=True).deserialize("  line\r\n\tnext  ") == "  line\r\n\tnext  "
