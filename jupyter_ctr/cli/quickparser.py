"""The quick parser: a command's parser for plain command lines, without argparse (see
QuickParser). ``parser.add_commands()`` builds it with the same calls as argparse's parser."""

from __future__ import annotations

from types import SimpleNamespace

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any

#: argparse.REMAINDER's value (spelled out: the quick parser works without argparse).
REMAINDER = "..."


class QuickOption:
    """One add_argument() as the quick parser keeps it."""

    def __init__(self, names: tuple[str, ...], action: str | None, dest: str, default: Any,
                 type_: Callable[[str], Any] | None, choices: Sequence[Any] | None,
                 nargs: str | None, required: bool, version: str | None = None) -> None:
        self.names, self.action, self.dest, self.default = names, action, dest, default
        self.type, self.choices, self.nargs, self.required = type_, choices, nargs, required
        self.version = version

    def value(self, text: str) -> tuple[bool, Any]:
        """(ok, the converted value); not ok where argparse would report an error."""
        try:
            value = text if self.type is None else self.type(text)
        except (TypeError, ValueError):
            return False, None
        return self.choices is None or value in self.choices, value


class QuickParser:
    """A command's parser for the plain command lines that scripts run most, without argparse:
    importing argparse (with gettext and locale) and building its parser cost a command ~3 ms.

    parser.add_commands() fills it through the calls it makes on an argparse parser. parse()
    understands exact option words with their values as separate words, before the
    positionals (after them only within a REMAINDER), and ``--version``; for anything else
    (-h, ``--opt=value``, ``-aq``, ``--``, a value starting with ``-``, an unknown option, a
    wrong count) it returns None and argparse parses the command line, so that argparse alone
    writes usage, help and errors. tests/cli/test_parser.py checks it against argparse for
    every command.
    """

    def __init__(self) -> None:
        self.options: dict[str, QuickOption] = {}  # by option word
        self.actions: list[QuickOption] = []       # all, in order
        self.positionals: list[QuickOption] = []
        self.defaults: dict[str, Any] = {}
        self.sub_dest: str | None = None
        self.commands: dict[str, QuickParser] = {}  # by name and alias

    # -- what add_commands() calls (argparse's signatures; help texts and metavars are not kept)
    def add_argument(self, *names: str, action: str | None = None, dest: str | None = None,
                     default: Any = None, type: Callable[[str], Any] | None = None,  # noqa: A002
                     choices: Sequence[Any] | None = None, nargs: str | None = None,
                     required: bool = False, version: str | None = None,
                     **_ignored: Any) -> None:
        if names[0].startswith("-"):
            long = [n for n in names if n.startswith("--")]
            dest = dest or (long or names)[0].lstrip("-").replace("-", "_")
        else:
            dest = names[0]
        if action in ("store_true", "store_false") and default is None:
            default = action == "store_false"
        default = self.defaults.get(dest, default)
        opt = QuickOption(names, action, dest, default, type, choices, nargs, required, version)
        if action != "version":  # which, as help, puts nothing in the namespace
            self.actions.append(opt)
        if names[0].startswith("-"):
            self.options.update(dict.fromkeys(names, opt))
        else:
            self.positionals.append(opt)

    def set_defaults(self, **kw: Any) -> None:
        self.defaults.update(kw)
        for opt in self.actions:
            if opt.dest in kw:
                opt.default = kw[opt.dest]

    def add_subparsers(self, *, dest: str, **_ignored: Any) -> QuickParser:
        self.sub_dest = dest
        return self

    def add_parser(self, name: str, *, aliases: Sequence[str] = (),
                   **_ignored: Any) -> QuickParser:
        parser = QuickParser()
        self.commands.update(dict.fromkeys((name, *aliases), parser))
        return parser

    # -- parsing ------------------------------------------------------------------------------
    def parse(self, argv: Sequence[str]) -> argparse.Namespace | None:
        """The namespace argparse would return for ``argv``, or None (see the class)."""
        values: dict[str, Any] = {}
        if not self.fill(list(argv), values):
            return None
        return SimpleNamespace(**values)  # type: ignore[return-value]

    def fill(self, words: list[str], ns: dict[str, Any]) -> bool:
        """Put what ``words`` say into ``ns``, as argparse would; False where it is left to
        argparse (see the class)."""
        for action in self.actions:  # argparse's order: each action's default, then the parser's
            ns.setdefault(action.dest, action.default)
        for key, value in self.defaults.items():
            ns.setdefault(key, value)
        seen: set[QuickOption] = set()
        i = 0
        while i < len(words) and words[i].startswith("-"):
            opt = self.options.get(words[i])
            if opt is None:  # -h, --version, --opt=value, -aq, --, -5, an unknown option
                return False
            seen.add(opt)
            if opt.action == "version":  # as argparse's: print it, exit 0, nothing else read
                print(opt.version, flush=True)
                raise SystemExit(0)
            if opt.action in ("store_true", "store_false"):
                ns[opt.dest] = opt.action == "store_true"
                i += 1
                continue
            if opt.action not in (None, "append") or i + 1 >= len(words) or \
                    words[i + 1].startswith("-"):
                return False
            ok, value = opt.value(words[i + 1])
            if not ok:
                return False
            ns[opt.dest] = [*(ns[opt.dest] or []), value] if opt.action == "append" else value
            i += 2
        for opt in self.actions:
            if opt.required and opt not in seen:
                return False
            if opt not in seen and opt.type is not None and isinstance(opt.default, str) \
                    and ns[opt.dest] is opt.default:
                ok, ns[opt.dest] = opt.value(opt.default)  # as argparse: string defaults too
                if not ok:
                    return False
        if self.sub_dest is None:
            return self._assign(words[i:], ns)
        parser = self.commands.get(words[i]) if i < len(words) else None
        if parser is None:
            return False
        ns[self.sub_dest] = words[i]
        values: dict[str, Any] = {}
        if not parser.fill(words[i + 1:], values):
            return False
        ns.update(values)  # as argparse: the command's values win over the parent's
        return True

    def _assign(self, words: list[str], ns: dict[str, Any]) -> bool:
        """Positionals: one word each, the last may take '?', '+', '*' or the REMAINDER."""
        specs = self.positionals
        last = specs[-1] if specs else None
        if any(s.nargs is not None for s in specs[:-1]):
            return False
        variable = last is not None and last.nargs is not None
        fixed = len(specs) - variable
        if len(words) < fixed:
            return False
        if last is not None and last.nargs == REMAINDER:
            if any(w.startswith("-") for w in words[:fixed]):
                return False
            ns[last.dest] = words[fixed:]  # every word, options included, as argparse
            words = words[:fixed]
        elif any(w.startswith("-") for w in words):
            return False
        for spec, word in zip(specs[:fixed], words, strict=False):
            ok, ns[spec.dest] = spec.value(word)
            if not ok:
                return False
        extra = words[fixed:]
        if last is None or not variable or last.nargs == REMAINDER:
            return not extra
        if last.nargs == "?":
            if len(extra) > 1:
                return False
            if extra:
                ok, ns[last.dest] = last.value(extra[0])
            else:
                ok, ns[last.dest] = (last.value(last.default) if isinstance(last.default, str)
                                     else (True, last.default))
            return ok
        if last.nargs not in ("+", "*") or (last.nargs == "+" and not extra):
            return False
        values = []
        for word in extra:
            ok, value = last.value(word)
            if not ok:
                return False
            values.append(value)
        if not values and last.default is not None:
            values = last.default
        ns[last.dest] = values
        return True
