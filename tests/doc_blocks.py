"""The command blocks of README.md and docs/, and the install lines of the contrib files.

Shared by the tests that run documented commands (test_install_commands.py) and the test that
every command block is either run by a test or marked as an excerpt (test_docs_commands.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRIB = ROOT / "contrib"
SHELL_LANGUAGES = {"sh", "shell", "bash", "console", "shell-session"}
MARKER = re.compile(r"<!--\s*(excerpt\b[^>]*?|tested by \S+?)\s*-->")
"""What a page says above a command block: ``<!-- excerpt: why -->`` (shown, not run as it
stands) or ``<!-- tested by tests/test_x.py -->`` (a test runs it)."""


@dataclass(frozen=True)
class Block:
    """A code block of a Markdown page: its text, where it starts, and the marker before it."""

    path: Path
    line: int  # 1-based line of the opening fence (or of the first indented line)
    language: str
    text: str
    marker: str  # "excerpt", "tested by tests/...", or ""

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_commands(self) -> bool:
        """A block a reader would paste into a shell: sh and the like, or a `$ ` prompt."""
        if self.language in SHELL_LANGUAGES:
            return True
        first = next((line for line in self.text.splitlines() if line.strip()), "")
        return not self.language and first.lstrip().startswith("$ ")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def marker_before(lines: list[str], index: int) -> str:
    """The marker comment on the nearest non-blank line above line index, if any."""
    for previous in reversed(lines[:index]):
        if previous.strip():
            match = MARKER.search(previous)
            if not match:
                return ""
            return "excerpt" if match.group(1).startswith("excerpt") else match.group(1)
    return ""


def blocks(path: Path) -> list[Block]:
    """Fenced blocks, and indented (four spaces) blocks that follow a blank line outside a
    list item's text."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = re.match(r"^(\s*)(```+)\s*([\w-]*)\s*$", line)
        if fence:
            indent, ticks, language = fence.groups()
            end = index + 1
            while end < len(lines) and not lines[end].strip().startswith(ticks):
                end += 1
            body = "\n".join(text[len(indent):] if text.startswith(indent) else text
                             for text in lines[index + 1:end])
            found.append(Block(path, index + 1, language, body, marker_before(lines, index)))
            index = end + 1
            continue
        if (line.startswith("    ") and line.strip() and index > 0
                and not lines[index - 1].strip() and not in_list(lines, index)):
            end = index
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            body = "\n".join(text[4:] for text in lines[index:end]).strip("\n")
            found.append(Block(path, index + 1, "sh", body, marker_before(lines, index)))
            index = end
            continue
        index += 1
    return found


def in_list(lines: list[str], index: int) -> bool:
    """Whether an indented line continues a list item (then it is text, not code)."""
    for previous in reversed(lines[:index]):
        if not previous.strip():
            continue
        if previous.startswith("    "):
            continue
        return bool(re.match(r"^\s*([-*+]|\d+\.)\s", previous))
    return False


def commands(text: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, prompts and comments left
    out, `a && b` split in two, one `sudo` in front dropped."""
    joined = re.sub(r"[ \t]*\\\n[ \t]*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        elif not line or line.startswith("#") or re.match(r"^[A-Z]{2,} ", line):
            continue  # a comment, or output shown under a prompt
        for part in line.split(" && "):
            part = re.sub(r"\s+#.*$", "", part).strip()
            if part.startswith("sudo "):
                part = part[5:]
            if part:
                out.append(part)
    return out


def install_comments(path: Path) -> list[str]:
    """The commands of a contrib file's "Install" comment (indented under it)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^# Install\b", line):
            body: list[str] = []
            for following in lines[index + 1:]:
                if following.startswith("#   "):
                    body.append(following[4:])
                elif body or not following.startswith("# "):
                    break  # the end of the commands, or of the prose before them
            return commands("\n".join(body))
    return []
