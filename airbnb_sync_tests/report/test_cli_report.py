"""`airbnb-sync report`: the pages from the warehouse AIRBNB_SYNC_DATABASE_URL names, on every
database; bad arguments give one line on stderr, exit 2, and write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from report_rows import ACCOUNT, read_page

from airbnb_sync.cli.main import main as cli
from airbnb_sync.report.build import account_page

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def environment(seeded: sa.Engine, database_url: str, dagster_home: Path,
                monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", database_url)
    return database_url


def test_report_writes_the_index_and_the_account_page(environment: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out"
    code = cli(["report", "--account", ACCOUNT, "--from", "2025-06-01", "--to", "2025-06-28",
                "--output", str(output)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip().splitlines()[-1] == str((output / "index.html").absolute())
    assert "stay dates 2025-06-01 to 2025-06-28" in out
    page = read_page(output / account_page(ACCOUNT))
    assert f"funnel-{'1234567890123456789'}-2025-06-15" in page.rows
    assert f"coverage-{ACCOUNT}" in read_page(output / "index.html").rows


@sqlite_only
@pytest.mark.parametrize(("arguments", "message"), [
    (["--from", "2025-06-28", "--to", "2025-06-01"], "--from 2025-06-28 is after --to"),
    (["--from", "2025-02-30"], "'2025-02-30' is not a date"),
    (["--account", "abc"], "account id 'abc' is invalid"),
    (["--account", "42"], "account 42 is not in the warehouse"),
    (["--to", "2020-01-01"], "is empty: give --from and --to"),
    (["--output-typo", "x"], "unrecognized arguments"),
])
def test_bad_arguments_exit_2_with_one_line(environment: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            arguments: list[str], message: str) -> None:
    output = tmp_path / "out"
    code = cli(["report", "--output", str(output), *arguments])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert "Traceback" not in err
    assert not output.exists()


@sqlite_only
def test_an_output_that_is_a_file_or_has_no_parent_is_refused(
        environment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "report.html"
    a_file.write_text("keep me")
    assert cli(["report", "--output", str(a_file)]) == 2
    assert "is a file: give a folder" in capsys.readouterr().err
    assert a_file.read_text() == "keep me"
    assert cli(["report", "--output", str(tmp_path / "missing" / "out")]) == 2
    assert "does not exist; create it first" in capsys.readouterr().err


def test_without_a_warehouse_it_says_so(dagster_home: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AIRBNB_SYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    assert cli(["report", "--output", str(tmp_path / "out")]) == 1
    assert "there is no warehouse at" in capsys.readouterr().err
