"""``show --request`` as a person reads it: each message under its role, each block labelled.

The rendering is a function of the recorded object (plain data), checked here on a
request with every kind of content block a tool loop records.
"""

from __future__ import annotations

from actors.cli.request_text import request_lines

REQUEST = {
    "step": "code",
    "model": "claude-sonnet-5-5",
    "system": [{"type": "text", "text": "You are the Coder.\nBe brief.", "cache_control": {}}],
    "messages": [
        {"role": "user", "content": "do it\n\tindented"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "first read a.py", "signature": "sig"},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "read_file",
                    "input": {"path": "a.py"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "is_error": True,
                    "content": [{"type": "text", "text": "no such file: a.py\x1b[2J"}],
                }
            ],
        },
    ],
    "tool_name": "submit_code",
    "tool_description": "Submit the code.",
    "input_schema": {"type": "object", "properties": {"notes": {}, "files": {}}},
    "max_tokens": 1000,
    "temperature": 0.5,
}


def test_each_message_is_shown_under_its_role_with_labelled_blocks() -> None:
    lines = list(request_lines(REQUEST, seq=7, digest="abc"))
    assert lines[:5] == [
        "request of seq 7: step code, model claude-sonnet-5-5, max_tokens 1000",
        "digest: abc",
        "tool: submit_code: Submit the code.",
        "  input schema: properties files, notes (--json shows the schema)",
        "temperature: 0.5",
    ]
    text = "\n".join(lines)
    assert "── system" in text and "You are the Coder.\nBe brief." in text
    assert "do it\n    indented" in text  # lines and tabs as written, not escaped
    assert "[thinking]\nfirst read a.py" in text
    assert '[tool call read_file id=toolu_1]\n{\n  "path": "a.py"\n}' in text
    assert "[tool result for toolu_1 (error)]\nno such file: a.py\\u001b[2J" in text
    roles = [line.split()[1] for line in lines if line.startswith("── ")]
    assert roles == ["system", "user", "assistant", "user"]
