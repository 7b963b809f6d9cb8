"""Password hashing with argon2id, and the password policy (length, common passwords, e-mail address).

The policy follows NIST SP 800-63B: a length range, a block list of common and breached passwords
(also with digits and punctuation around them and simple l33t spellings), no repetitive or sequential
characters, nothing built from the person's own e-mail address; no composition rules. Spaces and any
Unicode are allowed; passwords are NFKC-normalised before they are counted and hashed, so the same
password typed on different keyboards signs in.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 64

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher.hash(_normalise(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    normalised = _normalise(password)
    # Hashes made before normalisation was introduced were of the password as typed.
    candidates = [normalised] if normalised == password else [normalised, password]
    for candidate in candidates:
        try:
            if _hasher.verify(password_hash, candidate):
                return True
        except (VerificationError, InvalidHashError):
            continue
    return False


# Messages shown to the person choosing a password.
TOO_SHORT = f"Use at least {MIN_PASSWORD_LENGTH} characters."
TOO_LONG = f"Use at most {MAX_PASSWORD_LENGTH} characters."
TOO_COMMON = "This password is too common. Choose one that is harder to guess."
CONTAINS_EMAIL = "Don't use your e-mail address in your password."

_LEET = str.maketrans(
    {"0": "o", "1": "i", "!": "i", "3": "e", "4": "a", "@": "a", "$": "s", "5": "s", "7": "t", "+": "t"}
)
_LEET_L = str.maketrans({"1": "l", "!": "l", "|": "l"})
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789012345678901234567890123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "1q2w3e4r5t6y7u8i9o0p",
)
_REPEATED = re.compile(r"(.+?)\1+", re.DOTALL)
_SEPARATORS = re.compile(r"[\s._\-]+")


@cache
def common_passwords() -> frozenset[str]:
    """The block list: one lower-case password a line; lines starting with # are comments."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(s for line in lines if (s := line.strip().casefold()) and not s.startswith("#"))


def password_problem(password: str, *, email: str = "") -> str | None:
    """None when `password` is acceptable, else a message the person can act on."""
    password = _normalise(password)
    if len(password) < MIN_PASSWORD_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_PASSWORD_LENGTH:
        return TOO_LONG
    if email and _built_from_email(password, email):
        return CONTAINS_EMAIL
    if _too_guessable(password):
        return TOO_COMMON
    return None


def _strip_ends(text: str, keep: str) -> str:
    """Strip characters from both ends until one passes the `keep` test ("alpha" or "alnum")."""
    wanted = str.isalpha if keep == "alpha" else str.isalnum
    start, end = 0, len(text)
    while start < end and not wanted(text[start]):
        start += 1
    while end > start and not wanted(text[end - 1]):
        end -= 1
    return text[start:end]


def _variants(password: str) -> set[str]:
    """The spellings checked against the block list: as typed, without the digits and punctuation around
    it, without separators, and with l33t digits read as letters."""
    lowered = password.casefold()
    bases = {lowered, _strip_ends(lowered, "alnum"), _strip_ends(lowered, "alpha")}
    bases |= {_SEPARATORS.sub("", b) for b in bases}
    bases |= {_strip_ends(b.translate(leet), "alpha") for b in bases for leet in (_LEET, _LEET_L)}
    return {b for b in bases if b}


def _too_guessable(password: str) -> bool:
    lowered = password.casefold()
    compact = _SEPARATORS.sub("", lowered)
    if len(set(compact)) < 5:  # aaaaaaaaaaaa, 121212121212, "ab ab ab ab ab"
        return True
    if any(compact in seq or compact in seq[::-1] for seq in _SEQUENCES):  # abcdefghijkl, 123456789012
        return True
    blocked = common_passwords()
    variants = _variants(password)
    for variant in list(variants):  # "passwordpassword" is "password" twice
        repeated = _REPEATED.fullmatch(variant)
        if repeated:
            variants |= _variants(repeated.group(1))
    return any(v in blocked for v in variants)


def _built_from_email(password: str, email: str) -> bool:
    """True when the password contains the whole e-mail address, or is little more than its name part
    (or a word of it) or its domain name with digits and punctuation around it."""
    lowered = password.casefold()
    email = _normalise(email).strip().casefold()
    if email in lowered:
        return True
    local, _, domain = email.partition("@")
    compact = _SEPARATORS.sub("", lowered)
    for part in {local, *_SEPARATORS.split(local), domain.split(".")[0]}:
        token = _SEPARATORS.sub("", part)
        if len(token) >= 4 and token in compact:
            # "john.smith1987!" is the name plus digits; "john likes green tea" is a passphrase.
            letters_left = sum(c.isalpha() for c in compact.replace(token, ""))
            if letters_left < MIN_PASSWORD_LENGTH // 2:
                return True
    return False
