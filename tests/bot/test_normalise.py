import unicodedata

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.normalise import UNICODE, ZAWGYI, normalise, unicode_to_zawgyi
from core.settings import PROJECT_ROOT


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


# Known Zawgyi spellings and their Unicode twins, typed by hand.
ZAWGYI_PAIRS = [
    ("မဂၤလာပါ", "မင်္ဂလာပါ"),
    ("ျမန္မာ", "မြန်မာ"),
    ("ေက်းဇူးတင္ပါတယ္", "ကျေးဇူးတင်ပါတယ်"),
    ("လခမေပးဘူး", "လခမပေးဘူး"),
]


def test_zawgyi_is_converted_to_unicode_and_the_original_kept() -> None:
    for zawgyi, unicode_text in ZAWGYI_PAIRS:
        result = normalise(zawgyi)
        assert result.was_zawgyi, zawgyi
        assert result.text == unicode_text
        assert result.original == zawgyi


def test_text_that_is_not_zawgyi_is_left_alone() -> None:
    for text in (
        "မင်္ဂလာပါ",
        "အလုပ်ရှင်က လစာ နှစ်လ မပေးသေးဘူး",
        "ကျေးဇူးတင်ပါတယ် 🙏",
        "สวัสดีครับ",
        "passport ko boss yu thwar dl",
        "1546",
    ):
        result = normalise(text)
        assert not result.was_zawgyi, text
        assert result.text == text


# Text a worker's phone may send: the hotline's scripts, Zawgyi-range
# Burmese, emoji, and the invisible and control characters the normaliser
# must take out.
worker_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x0E00, max_codepoint=0x0EFF),  # Thai, Lao
        st.characters(min_codepoint=0x1000, max_codepoint=0x109F),  # Myanmar
        st.characters(min_codepoint=0x1780, max_codepoint=0x17FF),  # Khmer
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1F64F),  # emoji
        st.sampled_from(["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\x00", "\x1b"]),
        st.characters(codec="utf-8"),
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(worker_text)
def test_normalised_text_is_clean_composed_and_keeps_the_original(original: str) -> None:
    result = normalise(original)
    assert result.original == original
    assert unicodedata.is_normalized("NFC", result.text)
    for char in result.text:
        assert char == "\n" or char == "\t" or unicodedata.category(char) not in ("Cc", "Cf")
    assert result.text == result.text.strip()
    assert "  " not in result.text


@settings(max_examples=300, deadline=None)
@given(worker_text)
def test_normalising_twice_changes_nothing_more_unless_zawgyi_was_converted(
    original: str,
) -> None:
    once = normalise(original)
    twice = normalise(once.text)
    if not once.was_zawgyi and not twice.was_zawgyi:
        assert twice.text == once.text


def _heldout(name: str) -> list[str]:
    path = PROJECT_ROOT / "tests" / "data" / "heldout" / f"{name}.yml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        entry["text"] for entry in entries if any("\u1000" <= c <= "\u109f" for c in entry["text"])
    ]


def test_the_encoding_a_message_shows_is_certain_or_unknown_never_wrong() -> None:
    # Replies follow `encoding`: one Unicode message read as Zawgyi would
    # garble every reply on that worker's phone.
    zawgyi = [normalise(text).encoding for text in _heldout("my-zawgyi")]
    unicode = [normalise(text).encoding for text in _heldout("my")]
    assert UNICODE not in zawgyi and ZAWGYI not in unicode
    # Nearly all of them tell.
    assert zawgyi.count(ZAWGYI) >= 0.95 * len(zawgyi)
    assert unicode.count(UNICODE) >= 0.95 * len(unicode)


def test_burmese_that_reads_the_same_in_both_encodings_tells_nothing() -> None:
    # The detector scores these as Zawgyi, but they are the same code
    # points in Unicode: converting them would change nothing.
    for text in ("မရဘူး", "မလိုဘူး", "ဘာသာစကား"):
        result = normalise(text)
        assert (result.was_zawgyi, result.encoding, result.text) == (True, None, text)
    assert normalise("hello สวัสดี").encoding is None


def test_unicode_burmese_goes_out_in_zawgyi_and_reads_back_the_same() -> None:
    for zawgyi_text, unicode_text in ZAWGYI_PAIRS:
        assert unicode_to_zawgyi(unicode_text) == zawgyi_text
        assert normalise(unicode_to_zawgyi(unicode_text)).text == unicode_text
    # Other scripts, digits, emoji and line breaks pass unchanged.
    mixed = "สวัสดี hello 191 ၁၉၁ 🙏\n• ‹x›"
    assert unicode_to_zawgyi(mixed) == mixed
