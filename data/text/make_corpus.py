"""Rebuild the English corpus of lessons 09-11 from CPython's own documentation, and check it.

The text is ``pydoc_data.topics``: the help pages of Python's statements, operators and types
that ``help()`` shows, shipped with every CPython (PSF License; see LICENSE-PSF.txt beside this
file). It changes between Python versions, so the workbook ships a frozen copy, made from the
Python named in manifest.json. The split is fixed: the topics in sorted order are joined by blank
lines and split into paragraphs at blank lines; a paragraph seen before is dropped (the topics
overlap: "specialnames" holds "customization", "compound" holds "if", ...); the rest are cut into
blocks of at least 4,000 characters, and every tenth block (index 9, 19, ...) goes to validation,
the rest, in order, to training. So validation is about a tenth of the text, drawn from all
through it, and no paragraph is in both.

    python data/text/make_corpus.py           # rebuild here, compare with the shipped files
    python data/text/make_corpus.py --write   # overwrite them (only with the manifest's Python)

Standard library only. The check compares SHA-256 digests with manifest.json: the shipped files
(and the Chinese text and its translation, under "extra") must match it; on the manifest's Python version the
rebuilt text must be identical byte for byte too. On another version the rebuild may differ: that
is reported, not an error, as long as the shipped files are intact.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {"train": "python_docs.train.txt", "val": "python_docs.val.txt"}
EXTRA = {"chinese": ("chinese.txt", "written by the labkit project, same licence as the project (MIT)"),
         "chinese_en": ("chinese.en.txt", "the project's own English translation of chinese.txt, same licence")}
EVERY = 10  # every tenth block goes to validation
BLOCK = 4000  # a block is whole paragraphs, at least this many characters


def build() -> tuple[dict[str, str], dict[str, list[int]]]:
    """The two splits' text, and the block numbers in each, from this Python's pydoc_data."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[name].strip("\n") for name in sorted(topics))
    paragraphs = dict.fromkeys(text.split("\n\n"))  # each paragraph once, in order of first appearance
    blocks, current = [], []
    for paragraph in paragraphs:
        current.append(paragraph)
        if sum(len(p) + 2 for p in current) >= BLOCK:
            blocks.append("\n\n".join(current))
            current = []
    if current:
        blocks.append("\n\n".join(current))
    split = {"train": [i for i in range(len(blocks)) if i % EVERY != EVERY - 1],
             "val": [i for i in range(len(blocks)) if i % EVERY == EVERY - 1]}
    joined = {part: "\n\n".join(blocks[i] for i in chosen) + "\n" for part, chosen in split.items()}
    return joined, split


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def describe(name: str) -> dict[str, object]:
    """The manifest entry of a file beside this script: name, SHA-256 of its bytes, bytes, characters."""
    data = (HERE / name).read_bytes()
    return {"file": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "characters": len(data.decode("utf-8"))}


def dumps(manifest: dict) -> str:
    """manifest.json's text: indented, but each list of block numbers on one line."""
    text = json.dumps(manifest, indent=1, ensure_ascii=False)
    return re.sub(r"\[[\d,\s]*\]", lambda m: "[" + ", ".join(re.findall(r"\d+", m.group())) + "]", text) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="overwrite the shipped files and manifest.json")
    args = parser.parse_args(argv)
    text, split = build()
    manifest_path = HERE / "manifest.json"
    here = platform.python_version()
    if args.write:
        for part, name in FILES.items():
            (HERE / name).write_text(text[part], encoding="utf-8", newline="\n")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
        manifest.update({
            "schema": "labkit.corpus/1",
            "source": "pydoc_data.topics of CPython (the text help() shows), PSF License",
            "python": here,
            "split": f"topics sorted, joined by blank lines, split into paragraphs at blank lines, repeated paragraphs "
                     f"dropped, cut into blocks of >= {BLOCK} characters; "
                     f"every {EVERY}th block (index {EVERY - 1}, {2 * EVERY - 1}, ...) is validation",
            "files": {part: {"file": name, "sha256": digest(text[part]), "bytes": len(text[part].encode("utf-8")),
                             "characters": len(text[part]), "blocks": split[part]} for part, name in FILES.items()},
            "extra": {key: {**describe(name), "note": note} for key, (name, note) in EXTRA.items()},
        })
        manifest_path.write_text(dumps(manifest), encoding="utf-8", newline="\n")
        print(f"wrote {', '.join(FILES.values())} and manifest.json from Python {here}")
        return 0
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    same = True
    recorded = {**manifest["files"], **manifest.get("extra", {})}
    for part, name in {**FILES, **{key: name for key, (name, _) in EXTRA.items()}}.items():
        want = recorded.get(part, {}).get("sha256")
        if not (HERE / name).is_file():
            print(f"{name}: missing; restore it with `git checkout data/text`")
            same = False
        elif describe(name)["sha256"] != want:
            print(f"{name}: its SHA-256 is not the manifest's: the shipped file was changed")
            same = False
        elif part not in text:
            print(f"{name}: matches the manifest ({recorded[part]['bytes']:,} bytes)")
        elif digest(text[part]) != want:
            print(f"{name}: Python {here}'s pydoc_data differs from the frozen copy (made with Python "
                  f"{manifest['python']}); the shipped file is intact")
            same = same and here != manifest["python"]
        else:
            print(f"{name}: identical to a rebuild from Python {here} ({recorded[part]['bytes']:,} bytes)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
