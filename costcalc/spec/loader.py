"""YAML text -> plain Python values that remember where each one stood.

Only the YAML core types are accepted (mappings, sequences, strings, ints, floats, bools, null): every other
tag, `!!python/...` included, is an error and never a constructor. Aliases are converted once and shared (no
copy in memory), and what they would expand to is bounded, so an alias bomb is an error, not a hang anywhere
downstream; nesting depth and value count are bounded too.
"""

from __future__ import annotations

import yaml

from costcalc.errors import Loc, SpecError

try:  # libyaml is several times faster; the pure-Python parser gives the same nodes and marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how pyyaml was built
    from yaml import SafeLoader as _Loader

MAX_DEPTH = 64  # nested mappings and lists; a real spec uses about 12
MAX_ALIASED = 4_000_000  # values reached through aliases, each alias counted as a copy of what it names
MAX_NODES = 2_000_000  # YAML values (scalars, mappings, lists, aliases, merged keys): a 100,000-layer spec has ~900,000
MAX_BYTES = 32 * 1024 * 1024
MAX_INT_DIGITS = 1000  # characters of an integer literal (Python refuses to convert beyond 4300)

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}


class YMap(dict):
    """A mapping with the position of itself, of each key and of each value."""

    __slots__ = ("loc", "key_locs", "value_locs")
    loc: Loc
    key_locs: dict
    value_locs: dict


class YList(list):
    """A sequence with the position of itself and of each item."""

    __slots__ = ("loc", "item_locs")
    loc: Loc
    item_locs: list


STDIN = "<stdin>"  # how errors in a spec read from standard input are located


def load_file(path: str):
    """Read and parse a spec file ('-': standard input, located as <stdin>); every failure is a SpecError located
    in that file."""
    import os
    import stat

    if path == "-":
        import sys

        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        path = STDIN
        return _decode(data, path)

    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if stat.S_ISDIR(mode):
                raise SpecError("is a directory, not a spec file", Loc(path))
            if not stat.S_ISREG(mode):
                raise SpecError("is not a regular file (a pipe or a device?): give a spec file", Loc(path))
            data = f.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", Loc(path)) from None
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror or e}", Loc(path)) from None
    except ValueError as e:  # a path holding a NUL character
        raise SpecError(f"cannot read: {e}", Loc(path)) from None
    return _decode(data, path)


def _decode(data: bytes, path: str):
    if len(data) > MAX_BYTES:
        raise SpecError(f"file is larger than the limit of {MAX_BYTES:,} bytes", Loc(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise SpecError("file is not UTF-8 text", Loc(path, line, col)) from None
    return load_text(text, path)


def load_text(text: str, file: str):
    """Parse YAML text into YMap / YList / scalars, without ever building a YAML node tree: the events of the
    (libyaml) parser are composed here, iteratively, so no nesting depth can exhaust the C stack.

    libyaml reads ahead and has limits of its own (a nesting depth, in PyYAML 6.0.4 and later) that differ from
    one PyYAML release to the next. So when it fails, the text is parsed again with PyYAML's pure-Python parser,
    which reads event by event: costcalc's own limits then fire first, and a syntax error is reported at the same
    place, in the same words, whichever PyYAML is installed."""
    if "\x00" in text:
        raise SpecError("file holds a NUL byte: not a YAML text", Loc(file, *_line_col(text, text.index("\x00"))))
    if text.startswith("\ufeff"):
        text = text[1:]
    if _Loader is yaml.SafeLoader:  # pragma: no cover - pyyaml built without libyaml
        return _parse(text, file, yaml.SafeLoader)
    try:
        return _parse(text, file, _Loader)
    except SpecError as e:
        if not e.message.startswith(_SYNTAX):
            raise
    return _parse(text, file, yaml.SafeLoader)


_SYNTAX = "YAML syntax: "

# What the parser says -> what costcalc says. The parser's own words never reach the user: they change between
# PyYAML releases and between its C and Python parsers.
_PROBLEMS = (
    ("expected ',' or ']'", "a '[' list is not closed by ']' (or a ',' is missing between its items)"),
    ("expected ',' or '}'", "a '{' mapping is not closed by '}' (or a ',' is missing between its items)"),
    ("mapping values are not allowed", "a 'key: value' where none can start: is this line indented deeper "
                                       "than the key above it, or does a value hold an unquoted ': '?"),
    ("cannot start any token", "a character that cannot start a YAML value (YAML indents with spaces, "
                               "never tabs; quote text that starts with @ or `)"),
    ("could not find expected ':'", "a key without its ':' (or an unclosed quote)"),
    ("expected <block end>", "an item indented less than the ones before it, or text after a list or mapping "
                             "at the same indentation"),
    ("found unexpected end of stream", "the file ends inside a quoted text"),
    ("found unknown escape character", "an unknown escape sequence in a double-quoted text ('\\' writes a "
                                       "backslash)"),
    ("found undefined tag handle", "an undefined tag handle ('!name!'): specs hold plain data only"),
    ("expected alphabetic or numeric character", "an anchor or alias ('&' or '*') without a name"),
    ("found unexpected ':'", "an unexpected ':' (quote text that holds ': ')"),
    ("expected the node content", "a value is missing where one must stand"),
    ("while scanning a block scalar", "a '|' or '>' text block with a bad header"),
    ("while scanning a directive", "a bad '%' directive line"),
    ("expected a comment or a line break", "text after a value on the same line"),
)


def _words(problem: str) -> str:
    for says, means in _PROBLEMS:
        if says in problem:
            return means
    return "invalid YAML here"


def _parse(text: str, file: str, loader_class):
    loader = None
    try:
        loader = loader_class(text)  # the pure-Python reader checks the characters here
        return _Composer(file, loader).document()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise SpecError(_SYNTAX + _words(f"{e.context or ''} {e.problem or ''}"), _loc(file, mark)) from None
    except yaml.reader.ReaderError as e:
        position = e.position if isinstance(e.position, int) and 0 <= e.position <= len(text) else 0
        what = f" (character {ord(e.character) if isinstance(e.character, str) else e.character:#x})" \
            if e.character is not None else ""
        raise SpecError(f"{_SYNTAX}a character that YAML does not allow in a text file{what}",
                        Loc(file, *_line_col(text, position))) from None
    except yaml.YAMLError:
        raise SpecError(_SYNTAX + "invalid YAML", Loc(file)) from None
    finally:
        if loader is not None:
            loader.dispose()


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _loc(file: str, mark) -> Loc:
    if mark is None:
        return Loc(file)
    return Loc(file, mark.line + 1, mark.column + 1)


_NO_KEY = object()


class _Frame:
    """A mapping or list being filled; for a mapping, the key waiting for its value. `size` counts the values
    inside it as if every alias were a copy."""

    __slots__ = ("value", "anchor", "key", "key_loc", "merges", "size")

    def __init__(self, value, anchor):
        self.value, self.anchor, self.key, self.key_loc, self.merges, self.size = value, anchor, _NO_KEY, None, [], 1


class _Composer:
    def __init__(self, file: str, loader):
        self.file = file
        self.loader = loader
        self.anchors: dict = {}  # anchor -> finished value: aliases are shared, not copied
        self.anchor_sizes: dict = {}  # anchor -> values inside it, aliases counted as copies
        self.open_anchors: set = set()
        self.aliased = 0  # values reached through aliases
        self.count = 0
        self.scalars: dict = {}  # (tag, text) -> value, for the immutable non-text scalars
        self.tags: dict = {}  # (text, implicit) -> the tag the resolver gives a plain scalar

    def document(self):
        events = self.loader
        events.get_event()  # stream start
        if events.check_event(yaml.StreamEndEvent):
            raise SpecError("empty file: a spec is a mapping with at least 'input' and 'layers'", Loc(self.file))
        events.get_event()  # document start
        value = self.node()
        events.get_event()  # document end
        if not events.check_event(yaml.StreamEndEvent):
            extra = events.peek_event()
            raise SpecError("YAML syntax: a spec is one YAML document, but another one starts here",
                            _loc(self.file, extra.start_mark))
        return value

    def node(self):
        """Compose one value from the events, with an explicit stack instead of recursion."""
        stack: list = []
        get = self.loader.get_event
        while True:
            event = get()
            cls = type(event)
            if cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                frame = stack.pop()
                value = frame.value
                if frame.merges:
                    for merged, k_loc in frame.merges:
                        self.merge(value, merged, k_loc)
                if frame.anchor is not None:
                    self.anchors[frame.anchor], self.anchor_sizes[frame.anchor] = value, frame.size
                    self.open_anchors.discard(frame.anchor)
                if not stack:
                    return value
                stack[-1].size += frame.size
                self.place(stack[-1], value, value.loc)
                continue
            loc = _loc(self.file, event.start_mark)
            self.count += 1
            if self.count > MAX_NODES:
                raise SpecError(f"more than the limit of {MAX_NODES:,} YAML values", loc)
            if cls is yaml.AliasEvent:
                if event.anchor in self.open_anchors:
                    raise SpecError(f"alias '*{event.anchor}' refers to a value that contains it: "
                                    "recursive data is not allowed", loc)
                if event.anchor not in self.anchors:
                    raise SpecError(f"alias '*{event.anchor}' names no anchor defined before it", loc)
                value = self.anchors[event.anchor]
                size = self.anchor_sizes[event.anchor]
                self.aliased += size
                if self.aliased > MAX_ALIASED:
                    raise SpecError(f"aliases expand to more than the limit of {MAX_ALIASED:,} YAML values "
                                    "(an alias bomb?)", loc)
                if stack:
                    stack[-1].size += size
            elif cls is yaml.ScalarEvent:
                value = self.scalar(event, loc)
                if event.anchor is not None:
                    self.anchors[event.anchor], self.anchor_sizes[event.anchor] = value, 1
                if stack:
                    stack[-1].size += 1
            else:  # a mapping or a sequence starts
                is_map = cls is yaml.MappingStartEvent
                self.check_tag(event.tag, "map" if is_map else "seq", loc)
                if len(stack) >= MAX_DEPTH:
                    raise SpecError(f"YAML nested deeper than the limit of {MAX_DEPTH} levels", loc)
                if is_map:
                    value = YMap()
                    value.loc, value.key_locs, value.value_locs = loc, {}, {}
                else:
                    value = YList()
                    value.loc, value.item_locs = loc, []
                if event.anchor is not None:
                    self.open_anchors.add(event.anchor)
                stack.append(_Frame(value, event.anchor))
                continue
            if not stack:
                return value
            self.place(stack[-1], value, loc, cls is yaml.ScalarEvent and event.tag is None and event.value == "<<"
                       and event.implicit[0])

    def place(self, frame: _Frame, value, loc: Loc, merge_key: bool = False) -> None:
        container = frame.value
        if isinstance(container, YList):
            container.append(value)
            container.item_locs.append(loc)
            return
        if frame.key is _NO_KEY:  # this value is a key
            if merge_key:
                frame.key, frame.key_loc = _MERGE, loc
                return
            if not isinstance(value, str):
                shown = "a mapping" if isinstance(value, YMap) else "a list" if isinstance(value, YList) else \
                    "null" if value is None else f"{type(value).__name__} {value!r}"[:60]
                raise SpecError(f"mapping keys are names, not {shown}", loc)
            if value in container:
                raise SpecError(f"duplicate key '{value[:60]}' (first at line {container.key_locs[value].line})", loc)
            frame.key, frame.key_loc = value, loc
            return
        key, frame.key = frame.key, _NO_KEY
        if key is _MERGE:  # `<<: *base`: explicit keys win over merged ones, whatever their order
            frame.merges.append((value, frame.key_loc))
            return
        if key in container:  # a merged key given again explicitly is not a duplicate
            pass
        container[key] = value
        container.key_locs[key], container.value_locs[key] = frame.key_loc, loc

    def merge(self, mapping: YMap, merged, k_loc: Loc) -> None:
        for source in merged if isinstance(merged, YList) else [merged]:
            if not isinstance(source, YMap):
                raise SpecError("'<<' merges a mapping or a list of mappings", k_loc)
            self.count += len(source)  # merged keys are copies: they count against the limit
            if self.count > MAX_NODES:
                raise SpecError(f"more than the limit of {MAX_NODES:,} YAML values (merges included)", k_loc)
            for k, v in source.items():
                if k not in mapping:
                    mapping[k] = v
                    mapping.key_locs[k], mapping.value_locs[k] = source.key_locs[k], source.value_locs[k]

    def check_tag(self, tag, kind: str, loc: Loc) -> None:
        if tag is not None and tag != "!" and tag != _TAG + kind:
            raise SpecError(f"YAML tag '{tag[:60]}' is not allowed: specs hold plain data only", loc)

    def scalar(self, event, loc: Loc):
        tag = event.tag
        if tag is None or tag == "!":
            if tag == "!" or not event.implicit[0]:  # quoted (or '!'-tagged): text
                return event.value
            tag = self.tags.get((event.value, event.implicit))
            if tag is None:  # the resolver's regular expressions, once per distinct text (no path resolvers)
                tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
                if len(self.tags) < 100_000:
                    self.tags[(event.value, event.implicit)] = tag
            if tag == _TAG + "merge":  # the `<<` key: `place` knows it by its event
                return event.value
        if tag == _TAG + "str":
            return event.value
        if tag not in _SCALAR_TAGS:
            if tag == _TAG + "timestamp":
                return event.value  # a date is read as text (a description may hold one)
            raise SpecError(f"YAML tag '{tag[:60]}' is not allowed: specs hold plain data only", loc)
        if tag == _TAG + "int" and len(event.value) > MAX_INT_DIGITS:
            raise SpecError(f"an integer of {len(event.value):,} characters is beyond the limit of {MAX_INT_DIGITS}", loc)
        key = (tag, event.value)
        if key in self.scalars:
            return self.scalars[key]
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = self.loader.yaml_constructors[tag](self.loader, node)
        except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError) as e:
            kind = tag[len(_TAG):]
            reason = str(e).split("\n")[0][:100]
            raise SpecError(f"'{event.value[:60]}' is not a valid YAML {kind}: {reason}", loc) from None
        if len(self.scalars) < 100_000:
            self.scalars[key] = value
        return value


_MERGE = object()
