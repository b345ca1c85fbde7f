"""probes/os_release.py carries python-distro's two static parsers (importing distro costs doctor its logging and
argparse): they must still parse every text exactly as distro does."""

from __future__ import annotations

import io

import pytest

from setupkit.probes.os_release import parse_distro_release, parse_os_release

distro = pytest.importorskip("distro", reason="the test extra installs python-distro to compare with")

OS_RELEASES = [
    'NAME="Ubuntu"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n'
    'VERSION_CODENAME=jammy\nUBUNTU_CODENAME=jammy\n',
    'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n',
    'NAME="Red Hat Enterprise Linux"\nVERSION="9.4 (Plow)"\nID="rhel"\r\nVERSION_ID="9.4"\r\n',
    'NAME=Fedora\nVERSION="40 (Workstation Edition)"\nID=fedora\nVERSION_ID=40\n# a comment\n\n',
    "NAME='Debian GNU/Linux'\nVERSION=\"12 (bookworm)\"\nID=debian\nVERSION_CODENAME=\n",
    'VERSION="14.04.6 LTS, Trusty Tahr"\nID=ubuntu\nNAME="Ubuntu"\n',
    'PRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\nANSI_COLOR="38;2;23;147;209"\n',
    'NAME="with \\"escaped\\" quotes"\nID=x\nVERSION="1 (a b) c"\n',
    'NAME=one two three\nID=spaced\n',
    'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=16.04\nDISTRIB_CODENAME=xenial\nDISTRIB_DESCRIPTION="Ubuntu 16.04.7 LTS"\n',
    "",
    "\n\n",
]
RELEASE_LINES = [
    "CentOS Linux release 7.9.2009 (Core)",
    "Red Hat Enterprise Linux release 9.4 (Plow)",
    "Red Hat Enterprise Linux Server release 6.10 (Santiago)",
    "Fedora release 40 (Forty)",
    "Rocky Linux release 8.10 (Green Obsidian)",
    "AlmaLinux release 9.4 (Seafoam Ocelot)",
    "CentOS Stream release 9",
    "Some Linux",
    "  padded release 1.2  ",
]


@pytest.mark.parametrize("text", OS_RELEASES)
def test_os_release_parses_as_distro_does(text):
    assert parse_os_release(text) == distro.LinuxDistribution._parse_os_release_content(io.StringIO(text))


def test_an_unclosed_quote_is_unparsable_for_both():
    text = 'NAME="Ubuntu\nID=ubuntu\n'
    with pytest.raises(ValueError):
        distro.LinuxDistribution._parse_os_release_content(io.StringIO(text))
    assert parse_os_release(text) == {}


@pytest.mark.parametrize("line", RELEASE_LINES)
def test_a_release_line_parses_as_distro_does(line):
    assert parse_distro_release(line + "\n") == distro.LinuxDistribution._parse_distro_release_content(line.strip())
