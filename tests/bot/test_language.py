from bot.language import detect_by_script, effective_language


def test_each_script_names_its_language() -> None:
    assert detect_by_script("မင်္ဂလာပါ") == "my"
    assert detect_by_script("សួស្តី") == "km"
    assert detect_by_script("ສະບາຍດີ") == "lo"
    assert detect_by_script("สวัสดีครับ") == "th"


def test_latin_digits_and_emoji_say_nothing() -> None:
    assert detect_by_script("hello") is None
    assert detect_by_script("mingalaba") is None
    assert detect_by_script("1546 😀") is None
    assert detect_by_script("") is None


def test_mixed_text_follows_the_larger_script() -> None:
    # Burmese with a Thai loanword is Burmese.
    assert detect_by_script("နိုင်ဂျန် นายจ้าง လခမပေးဘူး") == "my"
    assert detect_by_script("boss ไม่จ่ายเงิน") == "th"


def test_choice_wins_over_detection_and_default() -> None:
    assert effective_language(choice="km", detected="th", default="en") == "km"
    assert effective_language(choice=None, detected="th", default="en") == "th"
    assert effective_language(choice=None, detected=None, default="en") == "en"
