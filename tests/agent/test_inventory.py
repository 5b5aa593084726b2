"""Targets: names on the command line, targets files, Ansible inventories (INI and YAML)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.inventory import (
    InventoryError,
    Target,
    expand_range,
    gather,
    jump_from_ssh_args,
    jump_text,
    parse_jump,
    parse_target,
    read_inventory,
)
from desktop.errors import UsageError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "inventory"


@pytest.mark.parametrize(
    ("text", "host", "port", "user"),
    [
        ("host.example.com", "host.example.com", 22, None),
        ("anna@host", "host", 22, "anna"),
        ("anna@192.0.2.5:2222", "192.0.2.5", 2222, "anna"),
        ("[::1]:2022", "::1", 2022, None),
        ("root@[2001:db8::7]:22", "2001:db8::7", 22, "root"),
        ("2001:db8::7", "2001:db8::7", 22, None),
        ("ssh://ops@bastion:2200", "bastion", 2200, "ops"),
    ],
)
def test_target_names(text: str, host: str, port: int, user: str | None) -> None:
    t = parse_target(text)
    assert (t.host, t.port, t.user, t.name) == (host, port, user, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty target"),
        ("host:0", "bad port '0'"),
        ("host:http", "bad port 'http'"),
        ("host:70000", "bad port '70000'"),
        ("an na@host", "bad user name"),
        ("host;rm -rf /", "bad host name"),
        ("-oProxyCommand=x", "bad host name"),
        ("[::1", "no closing ']'"),
        ("[::1]2222", "expected ':PORT'"),
        ("[zz::1]:22", "bad IPv6 address"),
    ],
)
def test_bad_target_names_are_refused(text: str, message: str) -> None:
    with pytest.raises(InventoryError, match=message.replace("[", r"\[")):
        parse_target(text)


def test_inventory_errors_are_usage_errors() -> None:
    assert issubclass(InventoryError, UsageError)


def test_targets_file_with_comments() -> None:
    targets = gather(targets_files=[FIXTURES / "targets.txt"])
    assert [(t.user, t.host, t.port) for t in targets] == [
        ("anna", "laptop-anna.example.com", 22), ("root", "192.0.2.5", 2222), (None, "2001:db8::7", 2022)]
    assert targets[2].address == "[2001:db8::7]:2022"
    assert targets[1].known_hosts_name == "[192.0.2.5]:2222"
    assert targets[0].known_hosts_name == "laptop-anna.example.com"


def test_targets_file_error_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "list.txt"
    f.write_text("good.example.com\n\n# fine\nbad host\n")
    with pytest.raises(InventoryError, match=r"list\.txt:4: bad host name 'bad host'"):
        gather(targets_files=[f])


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"nothere\.ini: cannot read: No such file"):
        gather(inventories=[tmp_path / "nothere.ini"])


EXPECTED = {
    # name: (host, port, user, key_file, python)
    "bastion.example.com": ("192.0.2.10", 22, "ops", None, None),
    "web01.example.com": ("web01.example.com", 22, "deploy", None, None),
    "web02.example.com": ("web02.example.com", 22, "deploy", None, None),
    "web03.example.com": ("web03.example.com", 22, "deploy", None, None),
    "legacy.example.com": ("legacy.example.com", 2202, "deploy", None, None),
    "db-a.example.com": ("db-a.example.com", 2200, "postgres", "~/.ssh/db_ed25519", None),
    "db-b.example.com": ("db-b.example.com", 2200, "postgres", "~/.ssh/db_ed25519", None),
    "db-c.example.com": ("192.0.2.33", 2222, "deploy", None, None),
    "laptop-anna": ("2001:db8::42", 22, "engineer", None, "/usr/bin/python3"),
}


@pytest.mark.parametrize("name", ["hosts.ini", "hosts.yml"])
def test_inventory_hosts_and_variable_precedence(name: str) -> None:
    targets = read_inventory(FIXTURES / name).targets()
    got = {t.name: (t.host, t.port, t.user, t.key_file, t.python) for t in targets}
    assert got == EXPECTED
    assert [t.name for t in targets][:4] == ["bastion.example.com", "web01.example.com", "web02.example.com",
                                             "web03.example.com"]
    web01 = next(t for t in targets if t.name == "web01.example.com")
    assert set(web01.groups) == {"web", "prod"}


@pytest.mark.parametrize("name", ["hosts.ini", "hosts.yml"])
@pytest.mark.parametrize(
    ("limit", "hosts"),
    [
        ("db", ["db-a.example.com", "db-b.example.com", "db-c.example.com"]),
        ("prod:!web", ["db-a.example.com", "db-b.example.com", "db-c.example.com"]),
        ("web,office", ["web01.example.com", "web02.example.com", "web03.example.com", "legacy.example.com",
                        "laptop-anna"]),
        ("web0*", ["web01.example.com", "web02.example.com", "web03.example.com"]),
        ("laptop-anna", ["laptop-anna"]),
        ("!prod", ["bastion.example.com", "laptop-anna"]),
    ],
)
def test_limit_selects_groups_and_hosts(name: str, limit: str, hosts: list[str]) -> None:
    assert [t.name for t in gather(inventories=[FIXTURES / name], limit=limit)] == hosts


def test_limit_unknown_group_is_an_error() -> None:
    with pytest.raises(InventoryError, match=r"hosts\.ini: --limit 'dbs' matches no group or host"):
        gather(inventories=[FIXTURES / "hosts.ini"], limit="dbs")


def test_limit_needs_an_inventory() -> None:
    with pytest.raises(InventoryError, match="--limit selects groups of an inventory"):
        gather(["host"], limit="web")


def test_ranges() -> None:
    assert expand_range("web[01:03]") == ["web01", "web02", "web03"]
    assert expand_range("w[8:10]") == ["w8", "w9", "w10"]
    assert expand_range("x[0:10:5]") == ["x0", "x5", "x10"]
    assert expand_range("db-[a:c]") == ["db-a", "db-b", "db-c"]
    assert expand_range("r[1:2]-[a:b]") == ["r1-a", "r1-b", "r2-a", "r2-b"]
    for bad in ("w[3:1]", "w[a:3]", "w[1:2", "w[1:100000]", "w[0:4:0]"):
        with pytest.raises(InventoryError, match="host range"):
            expand_range(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[web]\nweb1\n[web:nonsense]\n", r"inv\.ini:3: bad section \[web:nonsense\]"),
        ("[web:vars]\nansible_port\n", r"inv\.ini:2: expected key=value in \[web:vars\]"),
        ("[web]\nweb1 ansible_port=abc\n", r"inv\.ini:2: host web1: bad port 'abc'"),
        ("[web]\nweb1 user\n", r"inv\.ini:2: expected key=value after the host name"),
        ("[web]\nweb[5:1]\n", r"inv\.ini:2: bad host range"),
        ("[web]\nweb1 ansible_host='unclosed\n", r"inv\.ini:2: cannot read line"),
        ("[a:children]\nb\n[b:children]\na\n", r"inv\.ini: group 'a' is its own descendant"),
        ("[web]\nweb1 ansible_python_interpreter=python3\n", r"inv\.ini:2: host web1: ansible_python_interpreter "
                                                              "must be an absolute path"),
    ],
)
def test_bad_ini_inventories(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "inv.ini"
    f.write_text(text)
    with pytest.raises(InventoryError, match=message):
        read_inventory(f).targets()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("all:\n  hosts:\n    - web1\n", r"inv\.yml:3: hosts of group all must be a mapping"),
        ("all:\n  children:\n    web:\n      host:\n        web1:\n", r"inv\.yml:4: group web: unknown key 'host'"),
        ("all:\n  hosts:\n    web1:\n      ansible_port: [1, 2]\n", r"inv\.yml:3: host web1: port must be a plain"),
        ("all:\n  hosts: {web1: {ansible_port: 99999}}\n", r"inv\.yml:2: host web1: bad port '99999'"),
        ("all:\n  hosts:\n  web1\n :\n", r"inv\.yml:\d+: not valid YAML"),
    ],
)
def test_bad_yaml_inventories(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "inv.yml"
    f.write_text(text)
    with pytest.raises(InventoryError, match=message):
        read_inventory(f).targets()


def test_yaml_detected_without_the_extension(tmp_path: Path) -> None:
    f = tmp_path / "inventory"
    f.write_text("---\nlab:\n  hosts:\n    box1:\n      ansible_host: 127.0.0.1\n")
    assert read_inventory(f).targets() == [Target("box1", "127.0.0.1", groups=("lab",))]


def test_gather_merges_sources_without_duplicates(tmp_path: Path) -> None:
    targets = gather(["web01.example.com", "root@box:2222", "root@box:2222", "anna@box:2222"],
                     inventories=[FIXTURES / "hosts.ini"], limit="web01.example.com")
    assert [t.name for t in targets] == ["web01.example.com", "root@box:2222", "anna@box:2222",
                                         "web01.example.com#2"]
    assert targets[3].user == "deploy"


def test_default_port_applies_only_where_none_is_named(tmp_path: Path) -> None:
    assert parse_target("laptop", default_port=2222).port == 2222
    assert parse_target("laptop:22", default_port=2222).port == 22
    targets = gather(["laptop"], inventories=[FIXTURES / "hosts.ini"], limit="office,legacy.example.com",
                     default_port=2222)
    assert [(t.name, t.port) for t in targets] == [("laptop", 2222), ("laptop-anna", 2222),
                                                   ("legacy.example.com", 2202)]


# -- jump hosts -------------------------------------------------------------------------------------------------


def hops(jump: tuple[Target, ...] | None) -> list[tuple[str | None, str, int]] | None:
    return None if jump is None else [(h.user, h.host, h.port) for h in jump]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("-o ProxyJump=ops@bastion.example.org", [("ops", "bastion.example.org", 22)]),
        ("-o 'ProxyJump ops@bastion:2200'", [("ops", "bastion", 2200)]),
        ('-oProxyJump="ops@[2001:db8::1]:22"', [("ops", "2001:db8::1", 22)]),
        ("-o 'proxyjump = ops@b'", [("ops", "b", 22)]),
        ("-J a@one:2200,two", [("a", "one", 2200), (None, "two", 22)]),
        ("-qJ one", [(None, "one", 22)]),
        ("-C -o ControlMaster=auto -o ControlPersist=60s -i ~/.ssh/-J -J one", [(None, "one", 22)]),
        ("-J first -o ProxyJump=second", [(None, "first", 22)]),  # ssh keeps the first value
        ("-o ProxyJump=none -J later", []),
        ("-J first -o ProxyCommand='nc %h %p'", [(None, "first", 22)]),  # ProxyJump came first: it wins in ssh
        ("-o StrictHostKeyChecking=no -C", None),
        ("", None),
    ],
)
def test_jump_hosts_from_ssh_arguments(args: str, expected: list[tuple[str | None, str, int]] | None) -> None:
    assert hops(jump_from_ssh_args(args)) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("-o ProxyCommand='ssh -W %h:%p bastion'", "ProxyCommand is not supported"),
        ("-o ProxyJump=", "empty target"),
        ("-J 'bastion;id'", "jump host: bad host name"),
        ("-J a,,b", "empty target"),
        ("-o 'ProxyJump=unclosed", "cannot read the ssh arguments"),
        ("-J", "-J without its value"),
    ],
)
def test_bad_jump_arguments_are_refused(args: str, message: str) -> None:
    with pytest.raises(InventoryError, match=re.escape(message)):
        jump_from_ssh_args(args)


def test_parse_jump_and_its_text() -> None:
    jump = parse_jump("ops@bastion:2200, inner")
    assert hops(jump) == [("ops", "bastion", 2200), (None, "inner", 22)]
    assert jump_text(jump) == "ops@bastion:2200,inner:22"
    assert parse_jump("none") == ()
    with pytest.raises(InventoryError, match=r"--jump: jump host: bad port"):
        parse_jump("bastion:ssh", "--jump: ")


def test_jump_hosts_from_an_ini_inventory(tmp_path: Path) -> None:
    f = tmp_path / "hosts.ini"
    f.write_text(
        "[laptops]\n"
        "pc-anna ansible_host=localhost ansible_port=2301\n"
        "pc-boris ansible_host=localhost ansible_port=2302 ansible_ssh_extra_args='-J other@inner'\n"
        "pc-carl ansible_port=2303 ansible_ssh_common_args='-o ProxyJump=none'\n"
        "[laptops:vars]\n"
        "ansible_ssh_common_args='-o ProxyJump=\"alice@bastion.example.org\"'\n"
        "[servers]\nweb1\n")
    got = {t.name: hops(t.jump) for t in read_inventory(f).targets(default_port=2222)}
    assert got == {
        "pc-anna": [("alice", "bastion.example.org", 22)],
        "pc-boris": [("alice", "bastion.example.org", 22)],  # the common args come first on ssh's line: they win
        "pc-carl": [],  # explicitly direct
        "web1": None,  # the console's --jump, if any
    }


def test_jump_hosts_from_a_yaml_inventory(tmp_path: Path) -> None:
    f = tmp_path / "hosts.yml"
    f.write_text("all:\n  vars:\n    ansible_ssh_extra_args: -J ops@bastion:2200\n  hosts:\n    pc-anna:\n"
                 "      ansible_host: localhost\n      ansible_port: 2301\n    pc-boris:\n"
                 "      ansible_ssh_common_args: [not, a, string]\n")
    with pytest.raises(InventoryError, match=r"hosts\.yml:8: host pc-boris: ansible_ssh_common_args must be a plain"):
        read_inventory(f).targets()
    f.write_text(f.read_text().replace("[not, a, string]", "-o ProxyCommand=none"))
    assert [(t.name, hops(t.jump)) for t in read_inventory(f).targets()] == [
        ("pc-anna", [("ops", "bastion", 2200)]), ("pc-boris", [("ops", "bastion", 2200)])]


def test_inventory_proxy_command_is_refused_with_file_and_host(tmp_path: Path) -> None:
    f = tmp_path / "hosts.ini"
    f.write_text("[web]\nweb1\n[web:vars]\nansible_ssh_common_args='-o ProxyCommand=\"ssh -W %h:%p -q bastion\"'\n")
    with pytest.raises(InventoryError, match=r"hosts\.ini:2: host web1: ansible_ssh_common_args: -o ProxyCommand "
                                             r"is not supported .* use -o ProxyJump"):
        read_inventory(f).targets()


def test_targets_file_with_jump_hosts(tmp_path: Path) -> None:
    f = tmp_path / "targets.txt"
    f.write_text("alice@localhost:2301 jump=alice@bastion.example.org  # pc-anna\n"
                 "laptop.example.org jump=none\nserver.example.org\n")
    targets = gather(targets_files=[f], default_port=2222)
    assert [(t.name, t.port, hops(t.jump)) for t in targets] == [
        ("alice@localhost:2301", 2301, [("alice", "bastion.example.org", 22)]),
        ("laptop.example.org", 2222, []), ("server.example.org", 2222, None)]
    f.write_text("host1 via=bastion\n")
    with pytest.raises(InventoryError, match=r"targets\.txt:1: unknown option 'via=bastion' after the target"):
        gather(targets_files=[f])
    f.write_text("host1 jump=bad;host\n")
    with pytest.raises(InventoryError, match=r"targets\.txt:1: jump host: bad host name"):
        gather(targets_files=[f])


def test_same_target_through_other_jump_hosts_is_kept_apart(tmp_path: Path) -> None:
    f = tmp_path / "targets.txt"
    f.write_text("localhost:2301 jump=bastion-a\nlocalhost:2301 jump=bastion-b\nlocalhost:2301 jump=bastion-a\n")
    assert [(t.name, hops(t.jump)) for t in gather(targets_files=[f])] == [
        ("localhost:2301", [(None, "bastion-a", 22)]), ("localhost:2301#2", [(None, "bastion-b", 22)])]
