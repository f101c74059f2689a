"""Accounts (argon2 hashes, roles, regions, the change log), the regional scope of every role
(the table of issue #9), the import's refusal of rows outside the scope, and ``onemap user``."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import COUNTY_A, COUNTY_B, PREF_A, make_projects, write_tiny_store

from layers import access, store
from layers import schema as S
from layers.accounts import Accounts, Throttle, check_region, users_path
from layers.cli.main import main
from layers.errors import AccessError, AccountError
from layers.ingest.prepare import prepare_import
from layers.ingest.scope import OUT_OF_SCOPE
from layers.ingest.template import office_ledger_workbook

PASSWORD = "correct horse 1"


@pytest.fixture
def book(tmp_path: Path) -> Accounts:
    return Accounts(tmp_path / "users.sqlite")


# --- accounts -------------------------------------------------------------------------------


def test_no_file_means_no_account_and_asking_creates_nothing(book: Accounts) -> None:
    assert not book.exists()
    assert book.list() == []
    assert book.verify("admin", PASSWORD) is None
    assert not book.path.exists()


def test_password_is_stored_as_argon2id_and_checked(book: Accounts) -> None:
    user = book.add("admin", PASSWORD, "province", by="tester")
    assert (user.role, user.region) == ("province", None)
    assert book.exists()
    with sqlite3.connect(book.path) as db:
        (stored,) = db.execute("SELECT hash FROM users WHERE name = 'admin'").fetchone()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert book.verify("admin", PASSWORD) == user
    assert book.verify("admin", PASSWORD + "x") is None
    assert book.verify("nobody", PASSWORD) is None
    assert book.path.stat().st_mode & 0o077 == 0  # only the owner reads the file


def test_county_region_is_padded_and_checked_against_the_store(book: Accounts) -> None:
    known = {COUNTY_A, COUNTY_B, PREF_A}
    user = book.add("clerk", PASSWORD, "county", COUNTY_A[:6], by="tester", known=known)
    assert user.region == COUNTY_A
    with pytest.raises(AccountError, match="不在数据库的行政区划中"):
        book.add("other", PASSWORD, "county", "533323", by="tester", known=known)


@pytest.mark.parametrize(
    ("role", "region", "match"),
    [
        ("mayor", None, "unknown role"),
        ("county", None, "需要 --region"),
        ("prefecture", None, "需要 --region"),
        ("province", "533323", "province 角色不带 --region"),
        ("county", "5333", "6/12-digit"),
        ("county", "533300", "needs a county code"),
        ("prefecture", "533323", "needs a prefecture code"),
        ("county", "520102", "of Yunnan"),
        ("viewer", "533323001000", "prefecture or county"),
    ],
)
def test_bad_role_or_region_is_refused(role: str, region: str | None, match: str) -> None:
    with pytest.raises(AccountError, match=match):
        check_region(role, region)


def test_bad_name_password_and_duplicates_are_refused(book: Accounts) -> None:
    with pytest.raises(AccountError, match="用户名"):
        book.add("has space", PASSWORD, "province", by="t")
    with pytest.raises(AccountError, match="至少"):
        book.add("short", "1234567", "province", by="t")
    book.add("admin", PASSWORD, "province", by="t")
    with pytest.raises(AccountError, match="已存在"):
        book.add("admin", PASSWORD, "province", by="t")


def test_passwd_remove_and_the_log_of_who_did_it(book: Accounts) -> None:
    book.add("clerk", PASSWORD, "county", "533323", by="alice")
    book.passwd("clerk", "a new password", by="bob")
    assert book.verify("clerk", PASSWORD) is None
    assert book.verify("clerk", "a new password") is not None
    assert book.get("clerk").changed_by == "bob"
    book.remove("clerk", by="carol")
    assert book.list() == [] and not book.exists()
    log = [(actor, action, name) for _, actor, action, name, _ in book.log()]
    assert log == [
        ("alice", "add", "clerk"),
        ("bob", "passwd", "clerk"),
        ("carol", "remove", "clerk"),
    ]
    with pytest.raises(AccountError, match="没有用户"):
        book.remove("clerk", by="carol")
    with pytest.raises(AccountError, match="没有用户"):
        book.passwd("clerk", "whatever123", by="carol")


def test_users_file_default_is_next_to_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONEMAP_USERS", raising=False)
    assert users_path(store=tmp_path / "s.gpkg") == tmp_path / "onemap-users.sqlite"
    monkeypatch.setenv("ONEMAP_USERS", str(tmp_path / "elsewhere.sqlite"))
    assert users_path(store=tmp_path / "s.gpkg") == tmp_path / "elsewhere.sqlite"


def test_throttle_grows_per_name_and_resets_on_success() -> None:
    t = Throttle(base=1.0, cap=8.0)
    assert t.delay("x") == 0
    delays = []
    for _ in range(6):
        t.failed("x")
        delays.append(t.delay("x"))
    assert delays == [1, 2, 4, 8, 8, 8]
    assert t.delay("y") == 0  # another name is not slowed down
    t.succeeded("x")
    assert t.delay("x") == 0


# --- scope: the table of the issue -------------------------------------------------------------

FUGONG = "533323000000"  # 福贡县, 怒江州
NUJIANG = "533300000000"
LUSHUI_VILLAGE = "533301101201"  # a village of 泸水市 (怒江州, another county)
KUNMING_VILLAGE = "530102001001"  # a village of another prefecture
FUGONG_VILLAGE = "533323101201"


class _U:
    def __init__(self, role: str, region: str | None = None) -> None:
        self.role, self.region = role, region


ROLES = {
    "single": None,
    "province": _U("province"),
    "prefecture": _U("prefecture", NUJIANG),
    "county": _U("county", FUGONG),
    "viewer_county": _U("viewer", FUGONG),
    "viewer_all": _U("viewer"),
}


@pytest.mark.parametrize(
    ("who", "page", "region", "allowed", "shown"),
    [
        # everybody sees aggregates down to county level
        *[(w, "overview", S.PROVINCE_CODE, True, S.PROVINCE_CODE) for w in ROLES],
        *[(w, "overview", "530100000000", True, "530100000000") for w in ROLES],
        *[(w, "zones", S.PROVINCE_CODE, True, S.PROVINCE_CODE) for w in ROLES],
        # villages, townships and tables only inside the region
        ("county", "overview", FUGONG, True, FUGONG),
        ("county", "overview", "530102000000", False, None),
        ("county", "village", FUGONG_VILLAGE, True, FUGONG_VILLAGE),
        ("county", "village", KUNMING_VILLAGE, False, None),
        ("county", "overview", KUNMING_VILLAGE, False, None),
        ("county", "village", LUSHUI_VILLAGE, False, None),
        ("county", "library", S.PROVINCE_CODE, True, FUGONG),  # narrowed to its county
        ("county", "quality", NUJIANG, True, FUGONG),
        ("county", "export", "530100000000", False, None),
        ("prefecture", "village", LUSHUI_VILLAGE, True, LUSHUI_VILLAGE),
        ("prefecture", "library", "533301000000", True, "533301000000"),
        ("prefecture", "village", KUNMING_VILLAGE, False, None),
        ("prefecture", "library", S.PROVINCE_CODE, True, NUJIANG),
        ("viewer_county", "village", FUGONG_VILLAGE, True, FUGONG_VILLAGE),
        ("viewer_county", "village", LUSHUI_VILLAGE, False, None),
        ("viewer_all", "village", KUNMING_VILLAGE, True, KUNMING_VILLAGE),
        ("province", "village", KUNMING_VILLAGE, True, KUNMING_VILLAGE),
        ("single", "village", KUNMING_VILLAGE, True, KUNMING_VILLAGE),
        # writes
        ("province", "import_data", S.PROVINCE_CODE, True, S.PROVINCE_CODE),
        ("single", "import_data", S.PROVINCE_CODE, True, S.PROVINCE_CODE),
        ("county", "import_data", S.PROVINCE_CODE, True, FUGONG),
        ("prefecture", "import_data", FUGONG, True, FUGONG),
        ("viewer_county", "import_data", FUGONG, False, None),
        ("viewer_all", "import_data", S.PROVINCE_CODE, False, None),
    ],
)
def test_scope_table_of_the_issue(
    who: str, page: str, region: str, allowed: bool, shown: str | None
) -> None:
    decision = access.check_page(access.scope_of(ROLES[who]), page, region)
    assert decision.allowed is allowed
    if allowed:
        assert decision.region == shown
    else:
        assert decision.reason in ("scope_refused", "scope_no_write")


@pytest.mark.parametrize(
    ("who", "county", "may"),
    [
        ("province", "530102000000", True),
        ("single", "530102000000", True),
        ("prefecture", FUGONG, True),
        ("prefecture", "533301000000", True),
        ("prefecture", "530102000000", False),
        ("county", FUGONG, True),
        ("county", "533301000000", False),
        ("viewer_county", FUGONG, False),
        ("viewer_all", FUGONG, False),
    ],
)
def test_who_may_import_where(who: str, county: str, may: bool) -> None:
    scope = access.scope_of(ROLES[who])
    assert scope.may_import(county) is may
    assert scope.admin is (who in ("province", "single"))


def test_in_scope_mask_treats_a_missing_code_as_outside() -> None:
    codes = pd.Series([FUGONG, "533301000000", None, FUGONG_VILLAGE], dtype="string")
    county = access.scope_of(ROLES["county"])
    assert access.in_scope(codes, county).tolist() == [True, False, False, True]
    assert access.in_scope(codes, access.FULL).tolist() == [True] * 4


# --- imports inside the scope ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_store(tmp_path_factory.mktemp("acc") / "tiny.gpkg", demo=True)


def test_rows_of_another_county_are_refused_and_reported(tiny_store: Path) -> None:
    p = make_projects()
    both = p[p[S.COUNTY_CODE].isin([COUNTY_A, COUNTY_B])]
    n_a = int((both[S.COUNTY_CODE] == COUNTY_A).sum())
    book = office_ledger_workbook(both, sheet_by=None)
    inputs = store.read_inputs(tiny_store)
    everything = prepare_import(inputs, ledgers=[("两县.xlsx", book)])
    clerk_b = access.Scope(region=COUNTY_B, write=True, admin=False)
    scoped = prepare_import(inputs, ledgers=[("两县.xlsx", book)], scope=clerk_b)

    refused = scoped.report.problems[
        scoped.report.problems["problem"].str.startswith(OUT_OF_SCOPE.split("：")[0])
    ]
    assert len(refused) == n_a > 0
    assert set(refused["value"]) == {COUNTY_A}
    assert set(refused["action"]) == {"rejected"}
    assert refused["row"].notna().all()  # each refused row is named by its Excel row
    assert scoped.report.accepted == everything.report.accepted - n_a
    assert scoped.report.rows_in == scoped.report.accepted + scoped.report.rejected
    assert scoped.replaced_counties == [COUNTY_B]
    mine = scoped.inputs.projects
    assert (
        (mine.loc[mine[S.COUNTY_CODE] == COUNTY_A].shape[0])
        == (inputs.projects[S.COUNTY_CODE] == COUNTY_A).sum()
    )  # county A's library is untouched


def test_province_only_parts_of_an_import_are_refused(tiny_store: Path) -> None:
    p = make_projects()
    book = office_ledger_workbook(p[p[S.COUNTY_CODE] == COUNTY_B], sheet_by=None)
    inputs = store.read_inputs(tiny_store)
    clerk_b = access.Scope(region=COUNTY_B, write=True, admin=False)
    with pytest.raises(AccessError, match="替换全部项目"):
        prepare_import(inputs, ledgers=[("乙县.xlsx", book)], replace_all=True, scope=clerk_b)
    with pytest.raises(AccessError, match="名册或行政区划边界"):
        prepare_import(inputs, registry=("r.csv", b"x"), scope=clerk_b)
    viewer = access.Scope(region=COUNTY_B, write=False, admin=False)
    with pytest.raises(AccessError, match="只读账户"):
        prepare_import(inputs, ledgers=[("乙县.xlsx", book)], scope=viewer)


# --- onemap user -----------------------------------------------------------------------------


def test_cli_user_add_list_passwd_remove(
    tiny_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    users = tmp_path / "u.sqlite"
    base = ["--store", str(tiny_store), "--users", str(users)]
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        main(
            [
                "user",
                "add",
                "clerk",
                "--role",
                "county",
                "--region",
                COUNTY_B[:6],
                "--password-stdin",
                *base,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "user",
                "add",
                "x",
                "--role",
                "county",
                "--region",
                "533323",
                "--password-stdin",
                *base,
            ]
        )
        == 2
    )  # not a county of the tiny store
    assert "不在数据库的行政区划中" in capsys.readouterr().err
    assert main(["user", "list", *base]) == 0
    out = capsys.readouterr().out
    assert "clerk" in out and COUNTY_B in out
    book = Accounts(users)
    assert book.verify("clerk", PASSWORD) is not None
    assert book.get("clerk").created_by  # the OS user who ran the command
    monkeypatch.setattr(sys, "stdin", io.StringIO("another secret\n"))
    assert main(["user", "passwd", "clerk", "--password-stdin", *base]) == 0
    assert book.verify("clerk", "another secret") is not None
    assert main(["user", "remove", "clerk", *base]) == 0
    assert main(["user", "remove", "clerk", *base]) == 2
    assert "没有用户 clerk" in capsys.readouterr().err
    assert [a for _, _, a, _, _ in book.log()] == ["add", "passwd", "remove"]
