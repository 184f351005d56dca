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


def test_platform_languages_map_to_the_hotlines_or_to_nothing() -> None:
    from bot.language import platform_language

    assert platform_language("th") == "th"
    assert platform_language("th-TH") == "th"
    assert platform_language("my-MM") == platform_language("my") == "my"
    assert platform_language("km") == "km"
    assert platform_language("lo") == "lo"
    assert platform_language("en-US") == "en"
    assert platform_language("zh") is None
    assert platform_language("de") is None
    assert platform_language("") is None
    assert platform_language(None) is None
    # Accept-Language: the most preferred the hotline speaks.
    assert platform_language("de-DE,de;q=0.9,my;q=0.8,en;q=0.7") == "my"
    assert platform_language("en;q=0.5,th") == "th"
    assert platform_language("km;q=0,lo;q=0.1") == "lo"


def test_the_platforms_language_comes_after_choice_and_script() -> None:
    assert effective_language(choice=None, detected=None, hint="th", default="en") == "th"
    assert effective_language(choice=None, detected="km", hint="th", default="en") == "km"
    assert effective_language(choice="lo", detected="km", hint="th", default="en") == "lo"
