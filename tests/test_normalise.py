import unicodedata

from bot.normalise import normalise


def test_keeps_the_original_beside_the_normalised_text() -> None:
    original = "hello\u200b world"
    result = normalise(original)
    assert result.original == original
    assert result.text == "hello world"


def test_composes_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "café")
    assert normalise(decomposed).text == "café"


def test_removes_zero_width_and_bidi_controls() -> None:
    text = "\u202eสวัสดี\u200d\u2066ครับ\ufeff"
    assert normalise(text).text == "สวัสดีครับ"


def test_removes_control_characters_but_keeps_line_breaks() -> None:
    assert normalise("line one\x00\x07\nline two").text == "line one\nline two"


def test_thai_lao_khmer_burmese_marks_are_kept() -> None:
    for text in ("น้ำ", "ນ້ຳ", "ទឹក", "ရေ", "မင်္ဂလာပါ"):
        assert normalise(text).text == text


def test_emoji_only_stays() -> None:
    assert normalise("🙏🙏").text == "🙏🙏"
