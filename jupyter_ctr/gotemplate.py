"""The part of Go's text/template that podman's ``--format`` users write, for the CLI.

Supported: text with ``{{ }}`` actions (``{{-``/``-}}`` trim spaces), field chains
(``.State.Status``, ``.``, ``$``), string/number/bool literals, pipelines (``.Names | upper``),
parentheses, ``{{if}}``/``{{else}}``/``{{with}}``/``{{range}}``/``{{end}}`` and
``{{/* comments */}}``, and the functions ``json index len join printf print upper lower
title truncate eq ne lt le gt ge not and or``. Variables (``$x :=``), ``define`` and
``template`` are refused with an error that says so.

Values are JSON-like (dicts, lists, strings, numbers, bools, None) and print as Go's ``%v``
does: ``[a b]``, ``map[k:v]``, ``true``, ``<no value>`` for a missing map key. A field a
record does not have is an error naming it and the fields there are; dict keys listed in
``MAP_FIELDS`` (labels, annotations) are Go maps, where a missing key is ``<no value>``.

Errors read like Go's (``template: ps:1:3: executing "ps" at <.Bogus>: can't evaluate
field Bogus``) and are ``TemplateError``, a ``ValueError``.
"""

from __future__ import annotations

import json
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

#: Fields whose values are Go maps (a missing key prints ``<no value>``) and not records.
MAP_FIELDS = frozenset({"Labels", "Annotations", "Options", "Data", "Sysctls", "DriverOpts"})

_MISSING = type("_Missing", (), {"__repr__": lambda self: "<no value>"})()

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<variable>\$[A-Za-z_]\w*)
  | (?P<field>(?:\$|\.)?(?:\.[A-Za-z_]\w*)+|\.|\$)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<punct>:=|[()|=,])
""", re.VERBOSE)


class TemplateError(ValueError):
    """A template that does not parse, or a field or function it names that does not exist."""


class _Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class _Field(_Node):
    __slots__ = ("root", "names", "text")

    def __init__(self, pos: int, root: bool, names: list[str], text: str) -> None:
        super().__init__(pos)
        self.root, self.names, self.text = root, names, text


class _Literal(_Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: Any) -> None:
        super().__init__(pos)
        self.value = value


class _Func(_Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name


class _Pipeline(_Node):
    """Commands joined by ``|``; each command is a list of operands (a function first)."""

    __slots__ = ("commands",)

    def __init__(self, pos: int, commands: list[list[_Node]]) -> None:
        super().__init__(pos)
        self.commands = commands


class _Block(_Node):
    """``if``, ``with`` or ``range``: a pipeline, a body and an optional else body."""

    __slots__ = ("kind", "pipe", "body", "other")

    def __init__(self, pos: int, kind: str, pipe: _Pipeline) -> None:
        super().__init__(pos)
        self.kind, self.pipe = kind, pipe
        self.body: list[Any] = []
        self.other: list[Any] | None = None


class Template:
    """A parsed template; ``render(data)`` gives the text, ``header(names)`` a table header."""

    def __init__(self, text: str, name: str = "format") -> None:
        self.text, self.name = text, name
        self.nodes = self._parse()

    # -- parsing ----------------------------------------------------------------------------
    def _where(self, pos: int) -> str:
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return f"template: {self.name}:{line}:{col}"

    def _error(self, pos: int, message: str) -> TemplateError:
        return TemplateError(f"{self._where(pos)}: {message}")

    def _parse(self) -> list[Any]:
        text = self.text
        root: list[Any] = []
        stack: list[_Block] = []
        body = root
        pos = 0
        while True:
            start = text.find("{{", pos)
            if start < 0:
                if pos < len(text):
                    body.append(text[pos:])
                break
            chunk = text[pos:start]
            inner = start + 2
            if text.startswith("- ", inner) or text.startswith("-\t", inner) or \
                    text.startswith("-\n", inner):
                chunk = chunk.rstrip()
                inner += 1
            if chunk:
                body.append(chunk)
            end = text.find("}}", inner)
            if end < 0:
                raise TemplateError(f"template: {self.name}:{text.count(chr(10), 0, start) + 1}:"
                                    f" unclosed action (a {{{{ with no }}}})")
            pos = end + 2
            close = end
            if end - 1 >= inner and text[end - 1] == "-" and text[end - 2:end - 1].isspace():
                close = end - 1
                while pos < len(text) and text[pos].isspace():
                    pos += 1
            action = text[inner:close]
            stripped = action.strip()
            if stripped.startswith("/*"):
                if not stripped.endswith("*/"):
                    raise self._error(start, "unclosed comment")
                continue
            offset = inner + (len(action) - len(action.lstrip()))
            word = stripped.split(None, 1)[0] if stripped else ""
            if word in ("if", "with", "range"):
                block = _Block(offset, word, self._pipeline(stripped[len(word):],
                                                            offset + len(word), word))
                body.append(block)
                stack.append(block)
                body = block.body
            elif word == "else":
                if not stack or stack[-1].other is not None:
                    raise self._error(offset, "unexpected {{else}}")
                if stripped != "else":
                    raise self._error(offset, "else if / else with are not supported: nest "
                                              "an {{if}} inside the {{else}}")
                stack[-1].other = []
                body = stack[-1].other
            elif word == "end":
                if not stack:
                    raise self._error(offset, "unexpected {{end}}")
                stack.pop()
                body = (stack[-1].other if stack[-1].other is not None else stack[-1].body) \
                    if stack else root
            elif word in ("define", "template", "block", "break", "continue"):
                raise self._error(offset, f"{{{{{word}}}}} is not supported in --format")
            else:
                body.append(self._pipeline(action, inner, ""))
        if stack:
            raise self._error(stack[-1].pos, f"unexpected EOF: {{{{{stack[-1].kind}}}}} has "
                                             "no {{end}}")
        return root

    def _tokens(self, source: str, base: int) -> list[tuple[str, str, int]]:
        out = []
        i = 0
        while i < len(source):
            m = _TOKEN.match(source, i)
            if m is None:
                raise self._error(base + i, f"unexpected {source[i]!r} in action")
            kind = m.lastgroup or ""
            if kind != "space":
                out.append((kind, m.group(), base + i))
            i = m.end()
        return out

    def _pipeline(self, source: str, base: int, context: str) -> _Pipeline:
        tokens = self._tokens(source, base)
        if not tokens:
            raise self._error(base, f"missing value for {context}" if context
                              else "empty action")
        pipe, i = self._parse_pipe(tokens, 0, base)
        if i < len(tokens):
            kind, text, pos = tokens[i]
            raise self._error(pos, f"unexpected {text!r} in {context or 'action'}")
        return pipe

    def _parse_pipe(self, tokens: list[tuple[str, str, int]], i: int,
                    base: int) -> tuple[_Pipeline, int]:
        commands: list[list[_Node]] = []
        command: list[_Node] = []
        start = tokens[i][2] if i < len(tokens) else base
        while i < len(tokens):
            kind, text, pos = tokens[i]
            if kind == "punct":
                if text == "|":
                    if not command:
                        raise self._error(pos, "missing command before '|'")
                    commands.append(command)
                    command = []
                    i += 1
                    continue
                if text == "(":
                    sub, i = self._parse_pipe(tokens, i + 1, pos)
                    if i >= len(tokens) or tokens[i][1] != ")":
                        raise self._error(pos, "unclosed left paren")
                    command.append(sub)
                    i += 1
                    continue
                if text == ")":
                    break
                if text in (":=", "="):
                    raise self._error(pos, "template variables are not supported in --format")
                raise self._error(pos, f"unexpected {text!r}")
            command.append(self._operand(kind, text, pos))
            i += 1
        if command:
            commands.append(command)
        if not commands:
            raise self._error(start, "missing value")
        for cmd in commands:
            first = cmd[0]
            if len(cmd) > 1 and not isinstance(first, _Func):
                raise self._error(cmd[1].pos, f"{self._describe(first)} is not a function: "
                                              "cannot take arguments")
        return _Pipeline(start, commands), i

    def _operand(self, kind: str, text: str, pos: int) -> _Node:
        if kind == "variable":
            raise self._error(pos, "template variables are not supported in --format")
        if kind == "field":
            if text.startswith("$") and text != "$":
                if not text.startswith("$."):
                    raise self._error(pos, "template variables are not supported in --format")
                return _Field(pos, True, text[2:].split("."), text)
            if text == "$":
                return _Field(pos, True, [], text)
            return _Field(pos, False, [n for n in text.split(".") if n], text)
        if kind == "string":
            try:
                return _Literal(pos, json.loads(text))
            except ValueError:
                raise self._error(pos, f"bad string {text}") from None
        if kind == "raw":
            return _Literal(pos, text[1:-1])
        if kind == "char":
            raise self._error(pos, f"character constants are not supported: use \"{text[1:-1]}\"")
        if kind == "number":
            number = float(text) if any(c in text for c in ".eE") else int(text)
            return _Literal(pos, number)
        if text in ("true", "false"):
            return _Literal(pos, text == "true")
        if text == "nil":
            raise self._error(pos, "nil is not a command")
        if text not in FUNCTIONS:
            raise self._error(pos, f"function {text!r} not defined (known: "
                                   f"{', '.join(sorted(FUNCTIONS))})")
        return _Func(pos, text)

    @staticmethod
    def _describe(node: _Node) -> str:
        if isinstance(node, _Field):
            return node.text
        if isinstance(node, _Literal):
            return json.dumps(node.value)
        return "a pipeline"

    # -- evaluation -------------------------------------------------------------------------
    def render(self, data: Any) -> str:
        """The template applied to ``data``."""
        out: list[str] = []
        self._run(self.nodes, data, data, out, None)
        return "".join(out)

    def header(self, names: Callable[[str], str]) -> str:
        """The template applied to a header row: each action prints ``names(field)`` for the
        first field it uses (``{{json .Labels}}`` -> ``names("Labels")``)."""
        out: list[str] = []
        self._run(self.nodes, None, None, out, names)
        return "".join(out)

    def _run(self, nodes: list[Any], dot: Any, root: Any, out: list[str],
             names: Callable[[str], str] | None) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, _Pipeline):
                if names is not None:
                    field = _first_field(node)
                    out.append(names(field.names[0]) if field and field.names else "")
                else:
                    out.append(go_string(self._pipe(node, dot, root)))
            elif names is not None:  # a block in a header: its body once, as text
                self._run(node.body, dot, root, out, names)
            else:
                self._block(node, dot, root, out)

    def _block(self, node: _Block, dot: Any, root: Any, out: list[str]) -> None:
        value = self._pipe(node.pipe, dot, root)
        if node.kind == "range":
            if isinstance(value, dict):
                items = [value[k] for k in sorted(value)]
            elif isinstance(value, list):
                items = value
            elif value is None or value is _MISSING:
                items = []
            else:
                raise self._error(node.pos, f"executing \"{self.name}\" at "
                                            f"<{self._describe(node.pipe.commands[0][0])}>: "
                                            f"range can't iterate over {go_string(value)}")
            for item in items:
                self._run(node.body, item, root, out, None)
            if not items and node.other is not None:
                self._run(node.other, dot, root, out, None)
            return
        if truth(value):
            self._run(node.body, value if node.kind == "with" else dot, root, out, None)
        elif node.other is not None:
            self._run(node.other, dot, root, out, None)

    def _pipe(self, pipe: _Pipeline, dot: Any, root: Any) -> Any:
        value: Any = _MISSING
        for n, command in enumerate(pipe.commands):
            first = command[0]
            if isinstance(first, _Func):
                args = [self._value(a, dot, root) for a in command[1:]]
                if n:
                    args.append(value)
                value = self._call(first, args)
            elif n:
                raise self._error(first.pos, f"{self._describe(first)} is not a function: "
                                             "nothing can be piped into it")
            else:
                value = self._value(first, dot, root)
        return value

    def _value(self, node: _Node, dot: Any, root: Any) -> Any:
        if isinstance(node, _Literal):
            return node.value
        if isinstance(node, _Pipeline):
            return self._pipe(node, dot, root)
        if isinstance(node, _Func):
            return self._call(node, [])
        assert isinstance(node, _Field)
        value = root if node.root else dot
        parent = ""
        for name in node.names:
            value = self._lookup(node, value, name, parent)
            parent = name
        return value

    def _lookup(self, node: _Field, value: Any, name: str, parent: str) -> Any:
        if isinstance(value, dict):
            if name in value:
                return value[name]
            folded = {k.lower(): k for k in value if isinstance(k, str)}
            if parent not in MAP_FIELDS and name.lower() in folded:
                return value[folded[name.lower()]]  # .ID finds "Id", as podman's inspect does
            if parent in MAP_FIELDS:
                return _MISSING
            known = ", ".join(sorted(k for k in value if isinstance(k, str)))
            raise self._error(node.pos, f"executing \"{self.name}\" at <{node.text}>: can't "
                                        f"evaluate field {name} (fields here: {known})")
        kind = _GO_KINDS.get(type(value), "nil" if value is None or value is _MISSING
                             else type(value).__name__)
        raise self._error(node.pos, f"executing \"{self.name}\" at <{node.text}>: can't "
                                    f"evaluate field {name} in a {kind} value")

    def _call(self, func: _Func, args: list[Any]) -> Any:
        try:
            return FUNCTIONS[func.name](*args)
        except TemplateError as exc:
            raise self._error(func.pos, f"executing \"{self.name}\" at <{func.name}>: {exc}") \
                from None
        except TypeError:
            raise self._error(func.pos, f"executing \"{self.name}\" at <{func.name}>: wrong "
                                        f"number or type of arguments ({len(args)} given)") \
                from None


_GO_KINDS = {str: "string", int: "number", float: "number", bool: "bool", list: "list",
             dict: "map"}


def _first_field(pipe: _Pipeline) -> _Field | None:
    for command in pipe.commands:
        for node in command:
            if isinstance(node, _Field):
                return node
            if isinstance(node, _Pipeline):
                found = _first_field(node)
                if found is not None:
                    return found
    return None


# -- Go's printing and truth --------------------------------------------------------------------
def go_string(value: Any) -> str:
    """``value`` as Go's ``%v`` prints it."""
    if isinstance(value, str):
        return value
    if value is _MISSING or value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, list):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_string(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def truth(value: Any) -> bool:
    """Go template truth: false, 0, nil, and empty strings, lists and maps are false."""
    return value is not _MISSING and bool(value)


# -- functions ----------------------------------------------------------------------------------
def _json(value: Any) -> str:
    return json.dumps(None if value is _MISSING else value, ensure_ascii=False,
                      separators=(",", ":"))


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, "")  # the zero value of a map[string]string, as Go
        elif isinstance(value, (list, str)):
            if not isinstance(key, int) or not -1 < key < len(value):
                raise TemplateError(f"index out of range: {go_string(key)}")
            value = value[key]
        else:
            raise TemplateError(f"can't index item of type {type(value).__name__}")
    return value


def _len(value: Any) -> int:
    if not isinstance(value, (str, list, dict)):
        raise TemplateError(f"len of type {type(value).__name__}")
    return len(value)


def _join(value: Any, sep: str) -> str:
    if not isinstance(value, list):
        raise TemplateError(f"wrong type for value; expected a list; got {go_string(value)}")
    return sep.join(go_string(v) for v in value)


def _truncate(value: Any, n: int) -> str:
    return go_string(value)[:n]


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])")


def _printf(fmt: str, *args: Any) -> str:
    """Go's fmt.Sprintf for the verbs scripts use: %v %s %d %q %f %g %e %x %X %o %t %%."""
    queue = list(args)

    def one(m: re.Match[str]) -> str:
        flags, width, prec, verb = m.group(1), m.group(2) or "", m.group(3), m.group(4)
        if verb == "%":
            return "%"
        if not queue:
            return f"%!{verb}(MISSING)"
        arg = queue.pop(0)
        spec = flags + width + (f".{prec}" if prec is not None else "")
        if verb in "vst":
            return f"%{spec}s" % go_string(arg)
        if verb == "q":
            return f"%{spec}s" % json.dumps(go_string(arg), ensure_ascii=False)
        if verb in "dxXo" and isinstance(arg, (int, float)) and not isinstance(arg, bool):
            return f"%{spec}{verb}" % int(arg)
        if verb in "feEgG" and isinstance(arg, (int, float)) and not isinstance(arg, bool):
            return f"%{spec}{verb}" % arg
        return f"%!{verb}({go_string(arg)})"

    return _VERB.sub(one, fmt)


def _print(*args: Any) -> str:
    """fmt.Sprint: spaces between operands when neither side is a string."""
    out = ""
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_string(arg)
    return out


def _compare(op: str) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, bool) != isinstance(b, bool) or (
                isinstance(a, str) != isinstance(b, str)):
            raise TemplateError(f"incompatible types for comparison: {go_string(a)} and "
                                f"{go_string(b)}")
        return bool({"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op])
    return compare


def _and(*args: Any) -> Any:
    for arg in args[:-1]:
        if not truth(arg):
            return arg
    return args[-1]


def _or(*args: Any) -> Any:
    for arg in args[:-1]:
        if truth(arg):
            return arg
    return args[-1]


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "json": _json, "index": _index, "len": _len, "join": _join, "printf": _printf,
    "print": _print, "println": lambda *a: _print(*a) + "\n",
    "upper": lambda s: go_string(s).upper(), "lower": lambda s: go_string(s).lower(),
    "title": lambda s: go_string(s).title(), "truncate": _truncate,
    "eq": lambda a, *bs: any(a == b for b in bs), "ne": lambda a, b: a != b,
    "lt": _compare("lt"), "le": _compare("le"), "gt": _compare("gt"), "ge": _compare("ge"),
    "not": lambda a: not truth(a), "and": _and, "or": _or,
}


# -- tables -----------------------------------------------------------------------------------
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+")


def header_name(field: str, overrides: Mapping[str, str] | None = None) -> str:
    """The column title podman derives from a field: ``ExitCode`` -> ``EXIT CODE``."""
    if overrides and field in overrides:
        return overrides[field]
    return " ".join(_WORD.findall(field)).upper() or field.upper()


def tabwriter(rows: list[list[str]]) -> list[str]:
    """Cells aligned as podman's tabwriter does (min width 12, padding 2; the last cell of
    a row is not padded)."""
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            if i == len(widths):
                widths.append(12)
            widths[i] = max(widths[i], len(cell) + 2)
    return ["".join(c.ljust(widths[i]) for i, c in enumerate(row[:-1])) + row[-1]
            if row else "" for row in rows]


class Format:
    """A ``--format`` value: ``json``, ``table TEMPLATE`` or a plain ``TEMPLATE``.

    ``\\t`` and ``\\n`` written as two characters mean a tab and a newline, as in podman; in
    a table the spaces between actions separate columns too.
    """

    def __init__(self, spec: str, name: str) -> None:
        text = spec.strip()
        self.is_json = text in ("json", "{{json .}}", "{{ json . }}")
        self.table = False
        self.template: Template | None = None
        if self.is_json:
            return
        if text.startswith("table") and (len(text) == 5 or text[5].isspace()):
            self.table = True
            text = text[5:].strip()
        text = spec if not self.table else text
        text = text.replace("\\t", "\t").replace("\\n", "\n")
        if self.table:
            text = _spaces_to_tabs(text)
        self.template = Template(text, name) if text else None

    def lines(self, items: list[Any], headers: Callable[[str], str] | None = None) -> list[str]:
        """The output lines for ``items`` (a header first for tables, when ``headers``)."""
        assert self.template is not None
        rendered = [self.template.render(item) for item in items]
        if not self.table:
            return [r[:-1] if r.endswith("\n") else r for r in rendered]
        rows = [r.rstrip("\n").split("\t") for r in rendered]
        if headers is not None:
            rows.insert(0, self.template.header(headers).split("\t"))
        return [line.rstrip() for line in tabwriter(rows)]


def _spaces_to_tabs(text: str) -> str:
    """Runs of spaces outside actions become column breaks."""
    out, pos = [], 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            out.append(re.sub(r"[ ]+", "\t", text[pos:]))
            return "".join(out)
        out.append(re.sub(r"[ ]+", "\t", text[pos:start]))
        end = text.find("}}", start)
        if end < 0:
            out.append(text[start:])
            return "".join(out)
        out.append(text[start:end + 2])
        pos = end + 2
