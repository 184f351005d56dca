"""Long replies cut for LINE (UTF-16 units) and Telegram (characters)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.splitting import characters, split_text, utf16_units


def test_short_text_is_one_piece() -> None:
    assert split_text("hello", 10) == ["hello"]


def test_cuts_at_line_breaks_and_burmese_sentence_ends() -> None:
    text = "ပထမစာကြောင်း။ ဒုတိယစာကြောင်း။ တတိယ"
    pieces = split_text(text, 20)
    assert pieces[0].endswith("။")
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")

    lines = "\n".join([f"line {n:02d} is here" for n in range(20)])
    assert all(piece.startswith("line") for piece in split_text(lines, 60))


def test_utf16_units_count_emoji_twice() -> None:
    assert utf16_units("😀") == 2
    pieces = split_text("😀" * 10, 5, utf16_units)
    assert all(utf16_units(piece) <= 5 for piece in pieces)
    assert "".join(pieces) == "😀" * 10


def test_thai_without_spaces_is_cut_without_splitting_marks() -> None:
    text = "ค่าจ้างขั้นต่ำ" * 50
    pieces = split_text(text, 100)
    assert "".join(pieces) == text
    # No piece starts with a combining mark (a vowel or tone mark alone).
    assert all(piece[0] not in "่้๊๋ิีึืุู็์ั" for piece in pieces)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=3000), st.integers(min_value=8, max_value=500))
def test_pieces_fit_and_nothing_but_space_is_lost(text: str, limit: int) -> None:
    for measure in (characters, utf16_units):
        pieces = split_text(text, limit, measure)
        assert all(measure(piece) <= limit for piece in pieces)
        # Cuts drop only the whitespace at the cut.
        assert "".join("".join(pieces).split()) == "".join(text.split())
