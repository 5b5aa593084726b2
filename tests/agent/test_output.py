"""The console's output: what a cut-off error would hide is printed whole after the table; JSON lines."""

from __future__ import annotations

import json

from agent.console import ExecResult, HostResult, read_answer
from agent.inventory import Target
from agent.output import to_jsonl, to_table


def test_long_errors_follow_the_table_whole() -> None:
    advice = "then trust it on purpose with: deskline-agent trust 10.0.0.5:2222 --fingerprint SHA256:abc"
    bad = HostResult(Target("pc-1", "10.0.0.5", 2222), "agent", "host_key_unknown", 5.0,
                     error="host key not known: ssh-ed25519 SHA256:abc. Compare this fingerprint ... " + advice)
    fine = HostResult(Target("pc-2", "10.0.0.6", 2222), "agent", "unreachable", 5.0, error="refused")
    table = to_table([bad, fine], width=80)
    head, _, tail = table.partition("\n\n")
    assert "…" in head and advice not in head
    assert tail.startswith("pc-1: host key not known") and advice in tail
    assert "pc-2: refused" not in tail  # short errors are already whole in the table


def test_jsonl_writes_a_one_line_answer_as_received() -> None:
    answer = (b'{"protocol":1,"ok":true,"exit":0,"command":"report",'
              b'"result":{"host":"pc-3","note":"caf\xc3\xa9 \\u2028"}}\n')
    result = ExecResult(0, b"motd from a chatty .bashrc\n" + answer, b"")
    document = read_answer("pc-3", "report", result)
    assert document.raw == answer.decode().strip()
    ok = HostResult(Target("pc-3", "10.0.0.7", 2222), "agent", "ok", 12.3, document, exit=0)
    down = HostResult(Target("pc-4", "10.0.0.8", 2222), "agent", "unreachable", 5.0, error="refused")
    lines = to_jsonl([ok, down]).splitlines()
    assert len(lines) == 2
    assert [json.loads(line) for line in lines] == [ok.to_json(), down.to_json()]
    assert lines[0].endswith(',"answer":' + answer.decode().strip() + "}")  # spliced, not encoded again


def test_jsonl_encodes_an_answer_that_was_not_one_line_of_utf8() -> None:
    pretty = json.dumps({"protocol": 1, "ok": True, "exit": 0, "result": {"a": "é"}}, indent=1).encode()
    for data in (pretty, pretty.decode().encode("utf-16")):
        document = read_answer("pc-5", "ping", ExecResult(0, data, b""))
        assert document.raw is None
        line = HostResult(Target("pc-5", "10.0.0.9", 2222), "agent", "ok", 1.0, document, exit=0).json_line()
        assert line.endswith("\n") and line.count("\n") == 1
        assert json.loads(line)["answer"] == {"protocol": 1, "ok": True, "exit": 0, "result": {"a": "é"}}
