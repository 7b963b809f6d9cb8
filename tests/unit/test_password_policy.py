"""The password policy: lengths in characters, common passwords and their variants, the e-mail address."""

import pytest

from data.passwords import (
    CONTAINS_EMAIL,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    TOO_COMMON,
    TOO_LONG,
    TOO_SHORT,
    common_passwords,
    hash_password,
    password_problem,
    verify_password,
)


def test_limits():
    assert (MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH) == (12, 64)
    assert TOO_SHORT == "Use at least 12 characters."
    assert TOO_LONG == "Use at most 64 characters."


def test_the_common_list_is_large_lower_case_and_loaded_once():
    blocked = common_passwords()
    assert len(blocked) >= 1000
    assert {"password", "123456", "qwerty", "iloveyou", "letmein", "dragon", "monkey"} <= blocked
    assert all(word == word.casefold() and word.strip() == word and word for word in blocked)
    assert common_passwords() is blocked


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("", TOO_SHORT),
        ("a1!" * 3 + "xy", TOO_SHORT),  # 11
        ("ünïcödé😀x", TOO_SHORT),  # 10 characters, many more bytes
        ("x" * 60 + "abcde", TOO_LONG),  # 65
        ("ä" * 32 + "ö" * 32 + "ü", TOO_LONG),
    ],
)
def test_lengths_are_counted_in_characters(password, problem):
    assert password_problem(password) == problem


@pytest.mark.parametrize(
    "password",
    [
        "tulip hammock 9",  # 15 ASCII characters
        "ünïcödé😀xyzw",  # 12 characters
        "Zürich Straße ist schön im Regen ☔ und die Züge fahren pünktlich",  # 64
        "в лесу родилась ёлочка, в лесу она росла",
        "东京的秋天非常美丽而且很安静呢",
        "correct horse battery staple",
        "   leading and trailing spaces   ",
        "x7#Kq!m2Lp9$vW",
        "Tr0ub4dor&3xyz",
    ],
)
def test_long_passphrases_spaces_and_any_unicode_are_accepted(password):
    assert MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
    assert password_problem(password) is None


@pytest.mark.parametrize(
    "password",
    [
        "123456789012",
        "qwertyuiopasdf",
        "PASSWORD1234",
        "Password123!",
        "password123456!",
        "!!Password2024",
        "P@ssw0rd12345",
        "pa55word2024!!",
        "Liverpool1892!",
        "iloveyou 12345",
        "pass word 2024!",
        "passwordpassword",
        "Dragon!Dragon!",
        "aaaaaaaaaaaaaaa",
        "121212121212",
        "abcdefghijklmn",
        "ab ab ab ab ab ab",
        "Summer2026!!!!",
    ],
)
def test_common_passwords_and_their_variants_are_refused(password):
    assert password_problem(password) == TOO_COMMON


@pytest.mark.parametrize(
    ("password", "email"),
    [
        ("ann.lee@example.com", "Ann.Lee@Example.com"),
        ("my ann.lee@example.com!", "ann.lee@example.com"),
        ("AnnLee19870412", "ann.lee@example.com"),
        ("ann.lee.2026!!", "ann.lee@example.com"),
        ("Adventure-Works-2026", "ann@adventure-works.example"),
    ],
)
def test_the_email_address_is_refused(password, email):
    assert password_problem(password, email=email) == CONTAINS_EMAIL


def test_a_passphrase_mentioning_a_name_is_fine():
    assert password_problem("ann grows tomatoes in july", email="ann.lee@example.com") is None
    assert password_problem("ann grows tomatoes in july") is None


def test_hashing_is_argon2id_and_unicode_forms_agree():
    composed, decomposed = "Caf\u00e9 au lait 2026!", "Cafe\u0301 au lait 2026!"
    hashed = hash_password(composed)
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, composed)
    assert verify_password(hashed, decomposed)  # typed on another keyboard
    assert not verify_password(hashed, "Cafe au lait 2026!")
    assert not verify_password(None, composed)
    assert not verify_password("not a hash", composed)
