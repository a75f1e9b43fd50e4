"""scripts/timescaledb.sh: the Debian mirror comes from the machine's apt sources, as apt-get's.

The script's own function is run (the script defines its functions and runs nothing when
sourced), on sample /etc/apt folders in both formats apt reads: one-line `.list` files and
deb822 `.sources` files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "timescaledb.sh"

DEBIAN_DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main
"""


def mirror_of(etc_apt: Path, *, variable: str | None = None) -> subprocess.CompletedProcess:
    function = ("debian_mirror" if variable is not None
                else f'debian_mirror_from_apt_sources "{etc_apt}"')
    command = f'source "{SCRIPT}" && {function}'
    env = {"PATH": "/usr/bin:/bin"}
    if variable is not None:
        env["AIRBNB_SYNC_TSDB_MIRROR"] = variable
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env,
                          timeout=30, check=False)


def write(etc_apt: Path, files: dict[str, str]) -> Path:
    (etc_apt / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (etc_apt / name).write_text(text)
    return etc_apt


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({"sources.list.d/debian.sources": DEBIAN_DEB822},
                     "http://mirror.example.org/debian", id="deb822"),
        pytest.param({"sources.list": "# deb http://commented.example/debian bookworm main\n"
                                      "deb-src http://src.example/debian bookworm main\n"
                                      "deb [arch=amd64 signed-by=/k.gpg] "
                                      "http://ftp.de.debian.org/debian/ bookworm main contrib\n"
                                      "deb http://later.example/debian bookworm main\n"},
                     "http://ftp.de.debian.org/debian", id="one-line-with-options"),
        pytest.param({"sources.list": "deb http://security.debian.org/debian-security "
                                      "bookworm-security main\n",
                      "sources.list.d/a-vendor.list": "deb https://packages.cloud.google.com/apt "
                                                      "cloud-sdk-bookworm main\n",
                      "sources.list.d/b-node.sources": "Types: deb\n"
                                                       "URIs: https://deb.nodesource.com/node_20.x\n"
                                                       "Suites: nodistro\nComponents: main\n",
                      "sources.list.d/c-debian.sources": DEBIAN_DEB822},
                     "http://mirror.example.org/debian", id="skips-security-and-vendors"),
        pytest.param({"sources.list.d/debian.sources": "Types: deb\nURIs: http://off.example/debian\n"
                                                       "Suites: trixie\nComponents: main\n"
                                                       "Enabled: no\n\n" + DEBIAN_DEB822},
                     "http://mirror.example.org/debian", id="skips-disabled-stanza"),
        pytest.param({"sources.list.d/debian.sources": DEBIAN_DEB822,
                      "sources.list.d/old.list.disabled": "deb http://old.example/debian "
                                                          "bookworm main\n",
                      "sources.list": "deb http://first.example/debian stable main\n"},
                     "http://first.example/debian", id="sources-list-comes-first"),
        pytest.param({"sources.list.d/only-src.sources": "Types: deb-src\nURIs: http://s.example/d\n"
                                                         "Suites: bookworm\nComponents: main\n"},
                     "", id="none"),
    ],
)
def test_mirror_is_read_from_apt_sources(tmp_path: Path, files: dict[str, str],
                                         expected: str) -> None:
    result = mirror_of(write(tmp_path / "apt", files))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_the_variable_overrides_apt_sources(tmp_path: Path) -> None:
    result = mirror_of(tmp_path, variable="http://override.example/debian")
    assert result.stdout.strip() == "http://override.example/debian"


def test_no_host_name_is_written_into_the_script() -> None:
    text = SCRIPT.read_text()
    assert "deb.debian.org" not in text
    assert "http://" not in text.replace("http://snapshot", "")


def test_the_mirror_command_prints_this_machines_choice() -> None:
    result = subprocess.run([str(SCRIPT), "mirror"], capture_output=True, text=True, timeout=30,
                            check=False)
    expected = subprocess.run(["bash", "-c", f'source "{SCRIPT}" && '
                               "debian_mirror_from_apt_sources /etc/apt"],
                              capture_output=True, text=True, timeout=30, check=False)
    if not expected.stdout.strip():
        assert result.returncode != 0
        assert "AIRBNB_SYNC_TSDB_MIRROR" in result.stderr
    else:
        assert result.returncode == 0
        assert result.stdout == expected.stdout
