"""Password hashes: the standard library's, in werkzeug's format both ways (data/passwords.py).

werkzeug (installed as Flask's dependency) is the reference here: users files written before
data/ stopped importing it must keep signing in, and files written now must stay readable by it.
"""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from data.auth import AuthError, UserStore
from data.passwords import PasswordHashError, hash_password, verify_password

PASSWORD = "correct horse 电池 staple"
WERKZEUG_METHODS = [
    "scrypt",
    "scrypt:16384:8:1",
    "pbkdf2",
    "pbkdf2:sha256:1000",
    "pbkdf2:sha512:1000",
]


@pytest.mark.parametrize("method", WERKZEUG_METHODS)
def test_werkzeug_hashes_verify_here(method):
    stored = generate_password_hash(PASSWORD, method=method)
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "x")
    assert not verify_password(stored, "")


@pytest.mark.parametrize("method", WERKZEUG_METHODS)
def test_hashes_made_here_verify_with_werkzeug(method):
    stored = hash_password(PASSWORD, method)
    assert stored.split("$")[0] == generate_password_hash("x", method=method).split("$")[0]
    assert check_password_hash(stored, PASSWORD)
    assert not check_password_hash(stored, "wrong password")
    assert not verify_password(stored, "wrong password")


def test_default_is_werkzeugs_scrypt_with_a_fresh_salt():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt:32768:8:1$") and first != second
    method, salt, digest = first.split("$")
    assert len(salt) == 16 and salt.isalnum() and len(digest) == 128


def test_unknown_or_malformed_method_is_a_clear_error():
    with pytest.raises(PasswordHashError, match="'md5' is not supported"):
        verify_password("md5$salt$abcdef", PASSWORD)
    with pytest.raises(PasswordHashError, match="not supported"):
        hash_password(PASSWORD, "bcrypt")
    with pytest.raises(PasswordHashError, match="bad parameters"):
        verify_password("scrypt:lots:8$salt$abcdef", PASSWORD)
    with pytest.raises(PasswordHashError, match="bad parameters"):
        verify_password("pbkdf2:nosuchhash:1000$salt$abcdef", PASSWORD)
    # no method at all (an empty or cut value) matches nothing, as werkzeug's does
    assert not verify_password("", PASSWORD) and not verify_password("abc", PASSWORD)


def test_users_file_written_by_werkzeug_still_signs_in(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text(
        "[users.ana]\n"
        'role = "analyst"\n'
        f'password_hash = "{generate_password_hash(PASSWORD)}"\n'
        "[users.old]\n"
        'role = "analyst"\n'
        f'password_hash = "{generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")}"\n',
        encoding="utf-8",
    )
    store = UserStore(path)
    assert store.authenticate("ana", PASSWORD).username == "ana"
    assert store.authenticate("old", PASSWORD).username == "old"
    assert store.authenticate("ana", "wrong password") is None
    store.set_password("ana", "a new password")
    assert check_password_hash(UserStore(path).get("ana").password_hash, "a new password")


def test_users_file_with_an_unknown_hash_method_names_the_user(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text('[users.ana]\nrole = "analyst"\npassword_hash = "md5$s$00"\n', encoding="utf-8")
    with pytest.raises(AuthError, match="user 'ana'.*'md5' is not supported"):
        UserStore(path).users()
