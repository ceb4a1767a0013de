"""dbdrivers' pure parts: scrubbing that hides the password without telling it by its absence."""

from __future__ import annotations

import pytest

from os4xmon.db.drivers import scrub

pytestmark = pytest.mark.unit


def test_a_short_password_is_never_starred_inside_words():
    message = "Access denied for user 'nagios'@'localhost' (using password: YES)"
    for secret in ("a", "s", "ss", "es"):
        assert scrub(message, secret) == message


def test_a_password_of_four_to_seven_characters_is_starred_where_it_stands_alone():
    assert scrub("user pw12 and xpw12x, 'pw12'", "pw12") == "user ******** and xpw12x, '********'"


def test_a_long_password_is_starred_everywhere():
    secret = "Pw-7f3e9cA2xQ"
    assert scrub(f"user x{secret}y and '{secret}'", secret) == "user x********y and '********'"
    assert scrub("it\\'s-a-secret", "it's-a-secret") == "********"
