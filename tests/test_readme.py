"""Every ```python block of README.md runs as written: in order, in one namespace.

That is how a reader pastes them, so a later block may use what an earlier one
defined. The blocks run in one temporary working directory, where the files
they write (tiny.npz, graph.dot) land. Each block is its own test, so a failure
names the block's line; a block's traceback shows README.md's own line numbers.

Only ```python fences run (```bash and others are shown, not run). A block
whose first line is `# needs: torch` (modules separated by commas) runs only
where those modules import, and is skipped otherwise: PyTorch is never a
dependency, so the block that moves a model to PyTorch runs where torch
happens to be installed and is skipped elsewhere, CI included. No other block
may need anything beyond the test extra.
"""
import importlib.util
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
NEEDS = re.compile(r"#\s*needs:\s*([\w., ]+)$")


def python_blocks(text):
    """[(line of the opening fence, code, [modules it needs])] for every ```python block."""
    blocks = []
    for match in FENCE.finditer(text):
        code = match.group(1)
        first_line = code.split("\n", 1)[0].strip()
        needs = NEEDS.match(first_line)
        modules = [name.strip() for name in needs.group(1).split(",")] if needs else []
        blocks.append((text.count("\n", 0, match.start()) + 1, code, modules))
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def _missing(modules):
    return [name for name in modules if importlib.util.find_spec(name) is None]


class _Reader:
    """The state of one pass through the README: the namespace and how far it got."""
    namespace = {"__name__": "__readme__"}
    next_block = 0
    failed_at = None


@pytest.fixture(scope="module")
def readme_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


def _run_through(index, readme_dir, monkeypatch):
    """Run the blocks up to and including `index` that have not run yet, in order."""
    monkeypatch.chdir(readme_dir)
    while _Reader.next_block <= index:
        position = _Reader.next_block
        line, code, modules = BLOCKS[position]
        _Reader.next_block += 1
        if _Reader.failed_at is not None:
            pytest.skip(f"the README block at line {_Reader.failed_at} failed, so later ones "
                        "cannot run")
        if _missing(modules):
            if position == index:
                pytest.skip(f"the block at README.md line {line} needs "
                            f"{', '.join(_missing(modules))}")
            continue
        # Blank lines first, so the code keeps its line numbers in README.md.
        compiled = compile("\n" * line + code, str(README), "exec")
        try:
            exec(compiled, _Reader.namespace)
        except BaseException:
            _Reader.failed_at = line
            raise
    if _Reader.failed_at is not None and _Reader.failed_at != BLOCKS[index][0]:
        pytest.skip(f"the README block at line {_Reader.failed_at} failed")


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("index", range(len(BLOCKS)),
                         ids=[f"line{line}" for line, _, _ in BLOCKS])
def test_readme_block_runs(index, readme_dir, monkeypatch):
    _run_through(index, readme_dir, monkeypatch)


def test_the_graph_picture_is_what_the_readme_code_draws(readme_dir, monkeypatch):
    # docs/graph.png is rendered from docs/graph.dot; this keeps that file equal to what the
    # README's graph block produces today, so the picture cannot drift from the code.
    _run_through(len(BLOCKS) - 1, readme_dir, monkeypatch)
    assert "dot_text" in _Reader.namespace, "the README's graph block defines dot_text"
    committed = (ROOT / "docs" / "graph.dot").read_text(encoding="utf-8")
    assert _Reader.namespace["dot_text"] == committed, (
        "docs/graph.dot differs from what the README's graph block draws now: write dot_text "
        "to docs/graph.dot and render it again: dot -Tpng docs/graph.dot -o docs/graph.png")


def test_every_image_the_readme_shows_is_committed():
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README.read_text(encoding="utf-8"))
    assert images, "the README shows pictures"
    for path in images:
        assert (ROOT / path).is_file(), f"README.md shows {path}, which does not exist"


def test_the_readme_opens_with_a_two_command_quick_start():
    text = README.read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections[0] == "Quick start"
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    fence = re.search(r"```bash\n(.*?)```", quick_start, re.S)
    commands = [line for line in fence.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert "examples/sine.py" in commands[0] and ".[examples]" in commands[0]
    assert "pytest" in commands[1] and ".[test,examples]" in commands[1]
    # CI runs the README's test command, step by step
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for step in commands[1].split("#")[0].split("&&"):
        assert step.strip() in ci


def test_the_printed_program_excerpt_is_what_the_readme_code_prints(readme_dir, monkeypatch):
    # The ```text block after "`train_step.code` is document one's backprop" quotes lines of the
    # program the compile block prints; each quoted line must be in today's program.
    _run_through(len(BLOCKS) - 1, readme_dir, monkeypatch)
    program = _Reader.namespace["train_step"].code
    text = README.read_text(encoding="utf-8")
    start = text.index("```text", text.index("`train_step.code` is document one's backprop"))
    excerpt = text[start + len("```text"):text.index("```", start + 7)]
    quoted = [line.strip() for line in excerpt.splitlines() if line.strip() not in ("", "...")]
    assert len(quoted) >= 8
    lines = {line.strip() for line in program.splitlines()}
    missing = [line for line in quoted if line not in lines]
    assert not missing, f"README quotes program lines that train_step.code no longer has: {missing}"
