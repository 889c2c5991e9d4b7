"""Run the Python examples of README.md and README.ko.md and check what they print.

The rules (keep the READMEs to them):

1. Which blocks run: every ```python block, unless the line just before its opening fence is
   `<!-- not-runnable -->` (an HTML comment: GitHub does not show it). ```bash and other blocks never run,
   so commands that train the demos are never run here.
2. Namespaces: a block whose first code line (blank and comment lines skipped) is an `import` or `from`
   statement starts a fresh namespace; any other block continues the namespace of the runnable block
   before it in the same file, as the README reads top to bottom. Each block is its own test (id
   `README.md:<line of its fence>`); run alone, a continuing block first runs the blocks it continues,
   unchecked.
3. What is checked: each top-level statement runs on its own with its stdout captured.
   - `# -> TEXT` after code: TEXT must equal what that statement printed (the statement that contains the
     comment's line), trailing newline removed. `# -> TEXT` alone on a line belongs to the statement just
     above it. Several `# ->` lines of one statement are its printed lines, in order.
   - The comparison is exact, except that TEXT ending in `...` matches any output that starts with the text
     before the `...` (for a float that varies in its last digits: `# -> 0.40...`).
   - A plain ``` block right after the python block (its closing fence immediately followed by an opening
     fence with no language) is the expected stdout of the block's statements that carry no `# ->`,
     compared line by line with trailing spaces removed.
   - Any other output (and all of stderr) is not checked; an exception fails the test.
4. A block that imports torch is skipped when torch is not installed (as the cross-check tests are).
   Blocks run in a temporary working directory, so the files they write land there.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
READMES = ("README.md", "README.ko.md")
NOT_RUNNABLE = "<!-- not-runnable -->"
_FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
_EXPECT = re.compile(r"^#\s*->\s?(.*)$")


@dataclass
class Block:
    """One ```python block: where it is, its code, and what it must print."""

    file: str
    line: int  # 1-based line of the opening fence
    code: str
    output: str | None = None  # the plain ``` block right after it, if any
    fresh: bool = True  # starts a new namespace (rule 2)
    previous: list[Block] = field(default_factory=list)  # the blocks it continues, in order

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


def parse_blocks(text: str, file: str) -> list[Block]:
    """The runnable python blocks of a markdown text, each linked to the blocks it continues (rules 1, 2)."""
    lines = text.splitlines()
    fences: list[tuple[int, int, str]] = []  # (opening line index, closing line index, language)
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if j == len(lines):
            raise ValueError(f"{file}:{i + 1}: a code fence that is never closed")
        fences.append((i, j, m.group(1).lower()))
        i = j + 1
    blocks: list[Block] = []
    chain: list[Block] = []
    for k, (start, end, lang) in enumerate(fences):
        if lang != "python":
            continue
        if start > 0 and lines[start - 1].strip() == NOT_RUNNABLE:
            continue
        block = Block(file, start + 1, "\n".join(lines[start + 1:end]) + "\n")
        if k + 1 < len(fences) and fences[k + 1][0] == end + 1 and fences[k + 1][2] == "":
            nxt_start, nxt_end, _ = fences[k + 1]
            block.output = "\n".join(lines[nxt_start + 1:nxt_end])
        block.fresh = _starts_with_import(block.code)
        if block.fresh:
            chain = []
        elif not chain:
            raise ValueError(f"{block.id}: the first runnable block of the file must start with an import")
        block.previous = list(chain)
        chain.append(block)
        blocks.append(block)
    return blocks


def _starts_with_import(code: str) -> bool:
    for line in code.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            return s.startswith(("import ", "from "))
    return False


def expectations(code: str) -> tuple[list[ast.stmt], dict[int, list[str]]]:
    """The block's top-level statements and {statement index: expected printed lines} (rule 3)."""
    statements = ast.parse(code).body
    expected: dict[int, list[str]] = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type != tokenize.COMMENT:
            continue
        m = _EXPECT.match(tok.string)
        if m is None:
            continue
        row = tok.start[0]
        owner = None
        for k, st in enumerate(statements):
            if st.lineno <= row <= st.end_lineno:
                owner = k
                break
            if st.end_lineno < row:
                owner = k  # a comment on its own line: the last statement above it
        if owner is None:
            raise ValueError(f"line {row}: `# ->` before any statement")
        expected.setdefault(owner, []).append(m.group(1).rstrip())
    return statements, expected


def matches(expected: str, actual: str) -> bool:
    """Exact, or a prefix when `expected` ends in '...' (rule 3)."""
    if expected.endswith("..."):
        return actual.startswith(expected[:-3])
    return actual == expected


def run_block(block: Block, namespace: dict[str, Any], check: bool = True) -> None:
    """Run one block statement by statement in `namespace`; with check, compare its output (rule 3)."""
    statements, expected = expectations(block.code)
    unlabelled_out: list[str] = []
    problems: list[str] = []
    for k, st in enumerate(statements):
        readme_line = block.line + st.lineno  # the fence is line `block.line`, code line 1 the next
        module = ast.Module(body=[st], type_ignores=[])
        ast.increment_lineno(module, block.line)  # tracebacks point at the README's own lines
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(module, block.file, "exec"), namespace)
        printed = buf.getvalue()
        if k in expected:
            want = "\n".join(expected[k])
            got = printed[:-1] if printed.endswith("\n") else printed
            if not matches(want, got):
                problems.append(f"{block.file}:{readme_line}: printed {got!r}, the README says {want!r}")
        else:
            unlabelled_out.append(printed)
    if check and block.output is not None:
        got_lines = [s.rstrip() for s in "".join(unlabelled_out).rstrip("\n").splitlines()]
        want_lines = [s.rstrip() for s in block.output.splitlines()]
        if got_lines != want_lines:
            problems.append(f"{block.id}: the output block after it differs:\n--- README\n" + "\n".join(want_lines)
                            + "\n--- printed\n" + "\n".join(got_lines))
    if check and problems:
        raise AssertionError("\n".join(problems))


def _all_blocks() -> list[Block]:
    out = []
    for name in READMES:
        path = ROOT / name
        if path.exists():
            out.extend(parse_blocks(path.read_text(encoding="utf-8"), name))
    return out


BLOCKS = _all_blocks()
# A chain's namespace after its last block run: {id of the chain's first block: (namespace, blocks run)}.
_CHAINS: dict[str, tuple[dict[str, Any], int]] = {}


def _needs_torch(block: Block) -> bool:
    return re.search(r"^\s*(import torch|from torch)\b", block.code, re.M) is not None


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = block.previous + [block]
    for b in chain:
        if _needs_torch(b):
            pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    key = chain[0].id
    namespace, done = _CHAINS.pop(key, ({"__name__": "__readme__"}, 0))
    if done != len(block.previous):  # not run in order (e.g. selected alone): run what it continues first
        namespace, done = {"__name__": "__readme__"}, 0
        for b in block.previous:
            try:
                run_block(b, namespace, check=False)
            except Exception as e:  # noqa: BLE001  (any failure of an earlier block is reported as such)
                pytest.fail(f"{b.id}, which {block.id} continues, failed: {type(e).__name__}: {e}")
    run_block(block, namespace)
    _CHAINS[key] = (namespace, len(chain))


def test_every_readme_has_runnable_examples() -> None:
    for name in READMES:
        ids = [b.id for b in BLOCKS if b.file == name]
        assert len(ids) >= 10, f"{name}: only {len(ids)} runnable python blocks found: {ids}"
        assert any(b.output for b in BLOCKS if b.file == name)


def _code_and_outputs(block: Block) -> tuple[str, str]:
    """The code with comments removed, and the expected outputs: what both languages must share."""
    statements, expected = expectations(block.code)
    return ast.dump(ast.Module(body=statements, type_ignores=[])), repr(sorted(expected.items()))


def test_english_and_korean_examples_are_the_same() -> None:
    """The Korean README translates the prose and comments, never the code or its outputs."""
    en = [b for b in BLOCKS if b.file == "README.md"]
    ko = [b for b in BLOCKS if b.file == "README.ko.md"]
    assert len(en) == len(ko), (f"README.md has {len(en)} runnable python blocks, README.ko.md {len(ko)}")
    for a, b in zip(en, ko):
        assert _code_and_outputs(a) == _code_and_outputs(b), f"{a.id} and {b.id} differ (beyond comments)"
        assert a.output == b.output and a.fresh == b.fresh, f"{a.id} and {b.id} differ in output or namespace"


# ---- the runner's own rules, on made-up markdown: each must be able to fail ----------------------------------

_SAMPLE = '''# Title
```bash
python -m never.run
```
```python
import math
x = 2
print(x + 1)          # -> 3
print(math.pi)        # -> 3.14...
print("a",
      "b")            # -> a b
print("c")
# -> c
```
<!-- not-runnable -->
```python
raise SystemExit("never run")
```
```python
print(x * 10)         # -> 20
print("table")
for k in range(2):
    print(k)
```
```
table
0
1
```
'''


def test_parser_follows_the_rules() -> None:
    blocks = parse_blocks(_SAMPLE, "S.md")
    assert [b.line for b in blocks] == [5, 19]  # bash and not-runnable blocks are left out
    first, second = blocks
    assert first.fresh and not second.fresh and second.previous == [first]
    assert first.output is None and second.output == "table\n0\n1"
    _, expected = expectations(first.code)
    assert expected == {2: ["3"], 3: ["3.14..."], 4: ["a b"], 5: ["c"]}


def test_runner_passes_a_correct_sample_and_fails_a_wrong_one() -> None:
    first, second = parse_blocks(_SAMPLE, "S.md")
    ns: dict[str, Any] = {}
    run_block(first, ns)
    run_block(second, ns)  # continues: x is still 2
    wrong = Block("S.md", 1, "x = 3\nprint(x)  # -> 4\n")
    with pytest.raises(AssertionError, match=r"S\.md:3: printed '3', the README says '4'"):
        run_block(wrong, {})
    wrong_table = Block("S.md", 1, "print('a')\n", output="b")
    with pytest.raises(AssertionError, match="output block after it differs"):
        run_block(wrong_table, {})
    with pytest.raises(ZeroDivisionError):
        run_block(Block("S.md", 1, "1 / 0\n"), {})
    assert matches("0.40...", "0.4012") and not matches("0.40...", "0.39") and not matches("3", "3.0")


def test_a_continuing_first_block_is_an_error() -> None:
    with pytest.raises(ValueError, match="must start with an import"):
        parse_blocks("```python\nprint(1)\n```\n", "S.md")
