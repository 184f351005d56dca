"""The tokenizer per script: in-order substrings, no empty tokens, mixed text."""

import pytest

from nlu.segmentation import segment

SAMPLES = {
    "th": "นายจ้างไม่จ่ายเงินเดือนสองเดือนแล้วครับ",
    "lo": "ນາຍຈ້າງບໍ່ຈ່າຍເງິນເດືອນສອງເດືອນແລ້ວ",
    "km": "ថៅកែមិនបើកប្រាក់ខែពីរខែហើយ",
    "my": "အလုပ်ရှင်က လစာ နှစ်လ မပေးသေးဘူး",
    "en": "boss not pay me 2 month, what can i do?",
    "romanised": "passport ko boss yu thwar dl",
}


def check_segments(text: str) -> list[str]:
    segments = segment(text)
    position = 0
    for piece, start in segments:
        assert piece, "empty token"
        assert piece.strip() == piece, "token with surrounding space"
        assert text[start : start + len(piece)] == piece, "token is not the text at its offset"
        assert start >= position, "tokens out of order or overlapping"
        position = start + len(piece)
    # Nothing but whitespace is dropped.
    kept = "".join(piece for piece, _ in segments)
    assert kept == "".join(text.split())
    return [piece for piece, _ in segments]


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_segments_are_in_order_substrings(language: str) -> None:
    pieces = check_segments(SAMPLES[language])
    assert len(pieces) > 1


def test_thai_is_cut_into_words() -> None:
    assert check_segments("สวัสดีครับ ขอเบอร์โทร") == ["สวัสดี", "ครับ", "ขอ", "เบอร์", "โทร"]


def test_lao_is_cut_into_words() -> None:
    assert check_segments("ສະບາຍດີ ຂໍເບີໂທ") == ["ສະບາຍດີ", "ຂໍ", "ເບີ", "ໂທ"]


def test_khmer_is_cut_into_words() -> None:
    assert check_segments("សួស្តី សុំលេខទូរស័ព្ទ") == ["សួស្តី", "សុំ", "លេខ", "ទូរស័ព្ទ"]


def test_burmese_is_cut_into_syllables() -> None:
    # Stacked consonants and killed consonants stay in their syllable.
    assert check_segments("မင်္ဂလာပါ") == ["မင်္ဂ", "လာ", "ပါ"]
    assert check_segments("ဖုန်းနံပါတ်") == ["ဖုန်း", "နံ", "ပါတ်"]
    assert check_segments("၁၂၃၄ ကျပ်") == ["၁၂၃၄", "ကျပ်"]


def test_latin_is_split_on_whitespace_with_punctuation_apart() -> None:
    assert check_segments("hello, can u help??") == ["hello", ",", "can", "u", "help", "??"]


def test_mixed_scripts_keep_their_order() -> None:
    text = "boss ไม่จ่าย လစာ 400 บาท ខែ"
    pieces = check_segments(text)
    assert pieces[0] == "boss"
    assert "400" in pieces
    assert pieces[-1] == "ខែ"


@pytest.mark.parametrize("text", ["", "   ", "😀", "🙏🙏🙏", "...", "\n\n"])
def test_edge_inputs(text: str) -> None:
    check_segments(text)
