"""Build position-carrying data from YAML parse events, with hard caps.

ruamel.yaml's event parser (libyaml through ruamel.yaml.clib when installed) does the
scanning; this module composes the events itself, iteratively, for three reasons: no
recursion (deeply nested input cannot crash the process), duplicate keys and non-string
keys become located diagnostics instead of exceptions, and alias expansion is counted as it
happens, so an anchor/alias bomb is refused in linear time and memory (aliases share the
anchored object; the count is what a later walk would visit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML, events
from ruamel.yaml.error import YAMLError

from compiler import codes
from compiler.diagnostics import Diagnostic, Where, make, pointer
from compiler.source.nodes import Pos, YMap, YSeq
from compiler.source.scalars import TAG, plain_scalar, short

MAX_NODES = 500_000
"""Nodes a file may expand to, aliases counted at full size: far above any real definition set."""
MAX_DEPTH = 64


class _Stop(Exception):
    """Composition cannot go on (cap reached); the diagnostic is already recorded."""


@dataclass
class _Frame:
    node: YMap | YSeq
    anchor: str | None
    start_count: int
    key: tuple[str, Pos] | None = None
    skip_value: bool = False
    merges: list[YMap] = field(default_factory=list)


@dataclass
class _Anchor:
    value: Any
    pos: Pos
    size: int = 1
    done: bool = False


class Composer:
    def __init__(self, file: str) -> None:
        self.file = file
        self.diags: list[Diagnostic] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor] = {}
        self.count = 0
        self.root: Any = None
        self.documents = 0

    def error(self, code: codes.Code, pos: Pos, message: str, hint: str = "", key: str | None = None) -> None:
        path = self.path() + ([key] if key is not None else [])
        self.diags.append(make(code, Where(self.file, pos[0], pos[1], pointer(path)), message, hint))

    def path(self) -> list[str | int]:
        """Where the innermost open container sits in the document."""
        parts: list[str | int] = []
        for parent in self.stack[:-1]:
            parts.append(parent.key[0] if parent.key else len(parent.node))
        return parts

    def run(self, text: str) -> Any:
        try:
            for event in YAML(typ="safe").parse(text):
                self.feed(event)
        except _Stop:
            return None
        except YAMLError as exc:
            self.syntax_error(exc)
            return None
        return self.root

    def syntax_error(self, exc: YAMLError) -> None:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        pos = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        message = f"{problem} ({context})" if context else str(problem)
        self.error(codes.SYNTAX, pos, message, "check indentation, quoting and brackets near here")

    def feed(self, event: Any) -> None:
        pos = (event.start_mark.line + 1, event.start_mark.column + 1)
        if isinstance(event, events.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self.error(
                    codes.SYNTAX,
                    pos,
                    "a second YAML document (---) in one file",
                    "keep one document per file; split the rest into another file",
                )
                raise _Stop
        elif isinstance(event, events.ScalarEvent):
            self.count_nodes(1, pos)
            value = self.scalar(event, pos)
            if event.anchor:
                self.anchors[event.anchor] = _Anchor(value, pos, 1, True)
            self.add(value, pos, is_merge_key=self.is_merge_key(event))
        elif isinstance(event, events.AliasEvent):
            self.alias(event.anchor, pos)
        elif isinstance(event, events.MappingStartEvent | events.SequenceStartEvent):
            self.open(YMap(pos) if isinstance(event, events.MappingStartEvent) else YSeq(pos), event, pos)
        elif isinstance(event, events.MappingEndEvent | events.SequenceEndEvent):
            self.close()

    @staticmethod
    def is_merge_key(event: Any) -> bool:
        return bool(event.value == "<<" and not event.style and event.tag in (None, TAG + "merge"))

    def scalar(self, event: Any, pos: Pos) -> Any:
        tag, text = event.tag, event.value
        if tag in (None, "!") or tag == TAG + "merge":
            return plain_scalar(text) if event.implicit[0] and not event.style else text
        if tag == TAG + "str":
            return text
        if tag in (TAG + "int", TAG + "float", TAG + "bool", TAG + "null"):
            return plain_scalar(text)
        self.error(
            codes.SYNTAX, pos, f"unsupported YAML tag {short(tag)}", "remove the tag; write a plain value"
        )
        return text

    def count_nodes(self, n: int, pos: Pos) -> None:
        self.count += n
        if self.count > MAX_NODES:
            self.error(
                codes.ALIAS_BOMB,
                pos,
                f"the document expands to more than {MAX_NODES} nodes",
                "aliases (*name) copy whole subtrees; use fewer or smaller ones",
            )
            raise _Stop

    def alias(self, name: str, pos: Pos) -> None:
        anchor = self.anchors.get(name)
        if anchor is None:
            self.error(codes.SYNTAX, pos, f"alias *{name} refers to no anchor", f"define &{name} before it")
            raise _Stop
        if not anchor.done:
            self.error(
                codes.ALIAS_BOMB,
                pos,
                f"alias *{name} refers to a node that contains it",
                "an alias cannot point at one of its own parents",
            )
            raise _Stop
        self.count_nodes(anchor.size, pos)
        self.add(anchor.value, pos, is_merge_key=False)

    def open(self, node: YMap | YSeq, event: Any, pos: Pos) -> None:
        self.count_nodes(1, pos)
        if len(self.stack) >= MAX_DEPTH:
            self.error(
                codes.ALIAS_BOMB, pos, f"nesting deeper than {MAX_DEPTH} levels", "flatten the structure"
            )
            raise _Stop
        if event.tag not in (None, TAG + "map", TAG + "seq"):
            self.error(codes.SYNTAX, pos, f"unsupported YAML tag {short(event.tag)}", "remove the tag")
        if event.anchor:
            self.anchors[event.anchor] = _Anchor(node, pos)
        self.stack.append(_Frame(node, event.anchor, self.count))

    def close(self) -> None:
        frame = self.stack.pop()
        if isinstance(frame.node, YMap):
            for merged in frame.merges:
                for key, value in merged.items():
                    if key not in frame.node:
                        frame.node.put(key, value, merged.key_pos[key], merged.val_pos[key])
        if frame.anchor:
            anchor = self.anchors[frame.anchor]
            anchor.size, anchor.done = self.count - frame.start_count + 1, True
        self.add(frame.node, frame.node.pos, is_merge_key=False)

    def add(self, value: Any, pos: Pos, is_merge_key: bool) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        if isinstance(frame.node, YSeq):
            frame.node.put(value, pos)
        elif frame.key is None and not frame.skip_value:
            self.take_key(frame, value, pos, is_merge_key)
        else:
            self.take_value(frame, value, pos)

    def take_key(self, frame: _Frame, key: Any, pos: Pos, is_merge_key: bool) -> None:
        if is_merge_key:
            frame.key = ("<<", pos)
        elif not isinstance(key, str):
            self.error(
                codes.KEY_TYPE,
                pos,
                f"mapping key {key!r} is not a string",
                f'quote it: "{key}"' if not isinstance(key, YMap | YSeq) else "use a plain name as key",
            )
            frame.skip_value = True
        else:
            frame.key = (key, pos)

    def take_value(self, frame: _Frame, value: Any, pos: Pos) -> None:
        assert isinstance(frame.node, YMap)
        key_info, frame.key = frame.key, None
        if frame.skip_value or key_info is None:
            frame.skip_value = False
            return
        key, key_pos = key_info
        if key == "<<" and key not in frame.node:
            self.merge(frame, value, key_pos)
        elif key in frame.node:
            first = frame.node.key_pos[key]
            self.error(
                codes.DUPLICATE_KEY,
                key_pos,
                f"key {key!r} appears twice in this mapping",
                f"the first one is at line {first[0]}; remove or rename one of them",
                key=key,
            )
        else:
            frame.node.put(key, value, key_pos, pos)

    def merge(self, frame: _Frame, value: Any, pos: Pos) -> None:
        sources = value if isinstance(value, YSeq) else [value]
        if not all(isinstance(s, YMap) for s in sources):
            self.error(
                codes.SYNTAX,
                pos,
                "a merge key (<<) needs a mapping or a list of mappings",
                "write <<: *anchor where &anchor names a mapping",
            )
            return
        frame.merges.extend(sources)


def compose(text: str, file: str) -> tuple[Any, list[Diagnostic]]:
    composer = Composer(file)
    root = composer.run(text)
    return root, composer.diags
