"""`make browser` and `make bench` install packages with apt: while another apt runs (unattended
upgrades, a colleague's `make test`) they wait for it instead of failing on its lock."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO

APT_GET = shutil.which("apt-get")


def dry_run(*targets: str) -> str:
    """The commands `make` would run for the targets (expanded, nothing executed)."""
    done = subprocess.run(["make", "-n", "-B", "-C", str(REPO), *targets], capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout


def test_every_apt_get_of_the_makefile_waits_for_dpkgs_lock() -> None:
    # Each call: from `apt-get` to the end of its shell command.
    calls = re.findall(r"apt-get\s[^;&|()]*", dry_run("browser", "bench"))
    verbs = [re.sub(r"\s-o\s+\S+|\s-\w+", " ", call).split()[1] for call in calls]
    assert sorted(set(verbs)) == ["install", "update"]
    for call in calls:
        timeout = re.search(r"\s-o\s*DPkg::Lock::Timeout=([0-9]+)", call)
        assert timeout is not None and int(timeout.group(1)) >= 60, call


DPKG_HELD_S = 5.0  # how long dpkg's lock is held at most once the lists' lock is let go


@contextmanager
def held(path: Path) -> Iterator[threading.Event]:
    """Hold one of apt's locks (fcntl, as apt and dpkg take them) until the event is set."""
    release = threading.Event()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def hold() -> None:
        release.wait()
        os.close(fd)  # closing drops the lock

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        yield release
    finally:
        release.set()
        holder.join()


@pytest.mark.skipif(APT_GET is None, reason="no apt-get here (not Debian)")
def test_the_makefiles_apt_commands_wait_while_another_apt_holds_the_locks(tmp_path: Path
                                                                          ) -> None:
    # apt in a private root: its dpkg lock is next to Dir::State::status, its lists' lock in
    # Dir::State::Lists; no sources, so `update` fetches nothing and `install` installs nothing.
    (tmp_path / "lists" / "partial").mkdir(parents=True)
    (tmp_path / "parts").mkdir()
    (tmp_path / "cache" / "archives" / "partial").mkdir(parents=True)
    (tmp_path / "status").touch()
    config = tmp_path / "apt.conf"
    config.write_text("\n".join(f'{key} "{value}";' for key, value in {
        "Dir::State::status": tmp_path / "status", "Dir::State::Lists": tmp_path / "lists",
        "Dir::Cache": tmp_path / "cache", "Dir::Etc::sourcelist": "/dev/null",
        "Dir::Etc::sourceparts": tmp_path / "parts"}.items()) + "\n")
    probe = "apt-probe: ; @$(APT_UPDATE) && $(APT_GET) install"  # the recipes' apt commands
    command = ["make", "-s", "-C", str(REPO), f"--eval={probe}", "apt-probe"]
    # Each lock is let go once apt says it waits for it: the other apt finishes meanwhile.
    # apt does not always say so for dpkg's lock (once seen: it waited silently until its
    # timeout), so that one also goes DPKG_HELD_S after the lists' lock; an apt that did not
    # wait fails at once on a lock still held.
    with held(tmp_path / "lists" / "lock") as lists, held(tmp_path / "lock-frontend") as dpkg, \
            subprocess.Popen(command, env={**os.environ, "APT_CONFIG": str(config)},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) as make:
        assert make.stdout is not None
        out = []
        later = threading.Timer(DPKG_HELD_S, dpkg.set)
        try:
            for line in make.stdout:
                out.append(line)
                if "another apt holds the package lists: waiting for it" in line:
                    lists.set()
                    later.start()
                if "Waiting for cache lock: Could not get lock" in line:
                    dpkg.set()
            assert make.wait(timeout=600) == 0, "".join(out)
        finally:
            later.cancel()
    assert lists.is_set() and dpkg.is_set(), "".join(out)  # both waited, neither failed
    assert "0 upgraded, 0 newly installed" in out[-1]
