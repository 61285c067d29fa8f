"""Mutation sites of the engine, found from its syntax (libclang).

The engine's headers are parsed once through a translation unit that
includes them (templates are parsed as written, uninstantiated), and every
function body in the engine's own headers is walked for the sites of the
operators below. A site is named by its operator, header, enclosing
function and a digest of the site's text and replacement
(`drop_notify:engine_impl:BasicWorkqueue::end_run_locked/2@1f3a9c`), never
by a line number, so the mutant set follows the code as it changes and an
edit elsewhere in the function renames nothing.

Operators (the ConMAn concurrency operators of Bradbury, Cordy and Dingel,
and Mull's C++ operators, narrowed to what breaks a workqueue):

  drop_notify    remove a notify_one/notify_all or a wake_*() call (ConMAn RNA)
  while_to_if    `while (!cond) cv.wait(...)` becomes a single check
  unlock_early   swap `m.unlock();` with the statement before it: the
                 store or state change now happens after the unlock (ConMAn SHCR)
  lock_late      swap `m.lock();` with the statement after it
  relax_order    memory_order_acquire/release/acq_rel/seq_cst -> relaxed
  negate_cond    `if (c)` -> `if (!(c))`
  drop_conjunct  `if (a && b)` -> `if (a)` / `if (b)` (and ||): a dropped condition
  off_by_one     `<` <-> `<=`, `>` <-> `>=` (counter and sequence comparisons;
                 for-loop bounds excluded: they only index out of range)
  drop_update    remove an assignment, compound assignment, ++ or -- of a
                 field (a member: `x_`, `a.b`, `p->b`)
  swap_locked    swap two adjacent expression statements inside a locked
                 region (a Guard in scope, an explicit lock(), or a *_locked
                 function) when the order can matter: one writes what the
                 other mentions, or one calls engine code (two independent
                 updates under one lock are equivalent in either order)

Not mutation sites: reporting functions (statistics, event recording), the
statistics counters (n_*_),
the intrusive list of detail.hpp (a data structure, not the engine's
concurrency), planted-bug hooks (LAZYWQ_PLANTED, and whatever sits in
`#if defined(LAZYWQ_ENABLE_PLANTED_BUGS)`: the parse leaves it out), event
recording (`record(`), race-window markers (WindowScope), the platforms.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import sys
import tempfile
from typing import Iterable

sys.path.insert(0, "/usr/lib/python3/dist-packages")  # Debian's python3-clang-14
try:
    import clang.cindex as ci  # noqa: E402
except ImportError:  # pragma: no cover - reported by the caller
    ci = None

LIBCLANG_CANDIDATES = [
    "/usr/lib/llvm-14/lib/libclang-14.so.1",
    "/usr/lib/llvm-14/lib/libclang.so.1",
    "/usr/lib/x86_64-linux-gnu/libclang-14.so.1",
]

# The engine's own headers (the platforms are not the engine under test).
ENGINE_HEADERS = [
    "engine_impl.hpp",
    "pool_impl.hpp",
    "dependency.hpp",
    "work.hpp",
    "workqueue.hpp",
    "engine_decl.hpp",
]
# Functions that only report (statistics, the event stream): a mutant there
# changes what is observed, not what the engine does.
EXCLUDE_FUNCTIONS = {"stats", "record_as", "record", "events", "event_count", "pool_stats", "dependency_cycles",
                     "describe", "queue_stats"}

OPERATORS = {
    "drop_notify": "drop a notify or wake-up",
    "while_to_if": "re-check loop around a wait becomes a single check",
    "unlock_early": "release a lock one statement earlier (a store moves past the unlock)",
    "lock_late": "take a lock one statement later",
    "relax_order": "relax a memory order to relaxed",
    "negate_cond": "negate the condition of a state transition",
    "drop_conjunct": "drop one operand of && / || in a condition",
    "off_by_one": "off by one in a counter or sequence comparison",
    "drop_update": "drop an update of a shared field",
    "swap_locked": "swap two statements of a locked region",
}

# Operators only Relacy and ThreadSanitizer can see (the simulator is
# sequentially consistent).
MEMORY_ORDER_OPERATORS = {"relax_order"}
# Operators whose bug is a data race: the torture runs them under
# ThreadSanitizer (a lock released early leaves fields its annotations do
# not name unprotected; Clang's -Wthread-safety catches the rest at build).
TSAN_OPERATORS = {"relax_order", "unlock_early", "lock_late"}

EXCLUDE_TEXT = ("LAZYWQ_PLANTED", "record(", "record_as(", "WindowScope", "planted_bug")
STRONG_ORDERS = ("memory_order_acquire", "memory_order_release", "memory_order_acq_rel", "memory_order_seq_cst")
FUNCTION_KINDS = None  # filled in load()
EXPR_STMT_KINDS = None


@dataclasses.dataclass
class Edit:
    start: int  # byte offsets in the header
    end: int
    text: str


@dataclasses.dataclass
class Mutant:
    id: str
    operator: str
    header: str       # file name inside engine/include/lazywq
    function: str
    line: int         # for people only; the id never uses it
    original: str     # the text of the site before
    edits: list

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        return d


class SiteError(RuntimeError):
    pass


def load() -> None:
    global FUNCTION_KINDS, EXPR_STMT_KINDS
    if ci is None:
        raise SiteError("python3-clang-14 is missing: apt-get install python3-clang-14")
    if not ci.Config.loaded:
        for lib in LIBCLANG_CANDIDATES:
            if os.path.exists(lib):
                ci.Config.set_library_file(lib)
                break
        else:
            raise SiteError("libclang 14 not found (apt-get install libclang1-14)")
    K = ci.CursorKind
    FUNCTION_KINDS = {K.FUNCTION_DECL, K.CXX_METHOD, K.FUNCTION_TEMPLATE, K.CONSTRUCTOR, K.DESTRUCTOR}
    EXPR_STMT_KINDS = {K.CALL_EXPR, K.BINARY_OPERATOR, K.COMPOUND_ASSIGNMENT_OPERATOR, K.UNARY_OPERATOR,
                       K.UNEXPOSED_EXPR, K.MEMBER_REF_EXPR, K.PAREN_EXPR, K.CXX_DELETE_EXPR}


class HeaderText:
    def __init__(self, path: str):
        with open(path, "rb") as f:
            self.data = f.read()

    def text(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8")


def _kind(cursor):
    """The cursor's kind; None for kinds these Python bindings do not know
    (libclang 14 has a few newer than its cindex.py)."""
    try:
        return cursor.kind
    except ValueError:
        return None


def _tokens(cursor) -> list:
    return list(cursor.get_tokens())


def _operator_token(cursor):
    """The top-level operator token of a binary operator cursor."""
    kids = list(cursor.get_children())
    if len(kids) != 2:
        return None
    lhs_end = kids[0].extent.end.offset
    rhs_start = kids[1].extent.start.offset
    for t in cursor.get_tokens():
        if t.kind == ci.TokenKind.PUNCTUATION and lhs_end <= t.extent.start.offset < rhs_start:
            return t
    return None


def _calls(tokens: list, names: Iterable[str] = (), prefix: str | None = None) -> list:
    """Identifiers followed by '(' that are in names or start with prefix."""
    out = []
    for a, b in zip(tokens, tokens[1:]):
        if _kind(a) == ci.TokenKind.IDENTIFIER and b.spelling == "(":
            if a.spelling in names or (prefix and a.spelling.startswith(prefix)):
                out.append(a.spelling)
    return out


class Finder:
    def __init__(self, include_dir: str):
        self.include_dir = os.path.abspath(include_dir)
        self.headers = {os.path.join(self.include_dir, "lazywq", h): h for h in ENGINE_HEADERS}
        self.texts = {p: HeaderText(p) for p in self.headers if os.path.exists(p)}
        self.mutants: list[Mutant] = []
        self.rank: dict = {}
        self.fields: set = set()  # the engine's own fields (drop_update targets)

    # -- helpers ---------------------------------------------------------
    def _header_of(self, cursor):
        f = cursor.location.file
        if f is None:
            return None
        return self.headers.get(os.path.abspath(f.name)) and os.path.abspath(f.name)

    def _text(self, path: str, cursor) -> str:
        return self.texts[path].text(cursor.extent.start.offset, cursor.extent.end.offset)

    def _excluded(self, text: str) -> bool:
        return any(x in text for x in EXCLUDE_TEXT)

    def _add(self, op: str, path: str, func: str, cursor, edits: list, context: str = "") -> None:
        header = self.headers[path]
        stem = header.rsplit(".", 1)[0]
        start = min(e.start for e in edits)
        end = max(e.end for e in edits)
        original = self.texts[path].text(start, end)
        # The id: operator, header, function and a digest of the site's own
        # text and its replacement, so that an edit elsewhere in the function
        # does not rename it; identical sites in one function get ~1, ~2...
        digest = hashlib.sha1((" ".join((context or original).split()) + "\0" +
                               "\0".join(" ".join(e.text.split()) for e in edits)).encode()).hexdigest()[:6]
        key = (op, header, func, digest)
        k = self.rank.get(key, 0)
        self.rank[key] = k + 1
        self.mutants.append(Mutant(
            id=f"{op}:{stem}:{func}@{digest}" + (f"~{k}" if k else ""), operator=op, header=header, function=func,
            line=cursor.extent.start.line, original=original, edits=edits))

    # -- the walk --------------------------------------------------------
    def run(self) -> list:
        load()
        idx = ci.Index.create()
        with tempfile.NamedTemporaryFile("w", suffix=".cpp", delete=False) as tu_file:
            tu_file.write('#include "lazywq/engine.hpp"\n')
            tu_path = tu_file.name
        try:
            tu = idx.parse(tu_path, args=["-std=c++20", "-x", "c++", "-I", self.include_dir])
        finally:
            os.unlink(tu_path)
        errors = [d for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
        if errors:
            raise SiteError("libclang could not parse the engine: " + "; ".join(str(d) for d in errors[:3]))
        functions = []
        for c in tu.cursor.walk_preorder():
            k = _kind(c)
            if k == ci.CursorKind.FIELD_DECL and self._header_of(c):
                self.fields.add(c.spelling)
            elif k in FUNCTION_KINDS and c.is_definition() and c.spelling not in EXCLUDE_FUNCTIONS:
                path = self._header_of(c)
                if path:
                    functions.append((path, c))
        for path, c in functions:
            self._function(path, c)
        return self.mutants

    def _function_name(self, c) -> str:
        parent = c.semantic_parent
        name = c.spelling
        if parent is not None and _kind(parent) in (ci.CursorKind.CLASS_TEMPLATE, ci.CursorKind.CLASS_DECL,
                                                  ci.CursorKind.STRUCT_DECL):
            name = f"{parent.spelling}::{name}"
        # Overloads: the parameter count tells them apart without line numbers.
        nparams = sum(1 for a in c.get_children() if _kind(a) == ci.CursorKind.PARM_DECL)
        return f"{name}/{nparams}"

    def _function(self, path: str, fn) -> None:
        func = self._function_name(fn)
        locked_fn = fn.spelling.endswith("_locked")
        body = next((ch for ch in fn.get_children() if _kind(ch) == ci.CursorKind.COMPOUND_STMT), None)
        if body is None:
            return
        self._walk(path, func, body, locked=locked_fn, in_for_cond=False)

    def _walk(self, path, func, c, locked, in_for_cond):
        K = ci.CursorKind
        kind = _kind(c)
        if kind == K.COMPOUND_STMT:
            self._compound(path, func, c, locked)
            return  # _compound walks the children with the right lock state
        if kind == K.IF_STMT:
            self._if(path, func, c)
        elif kind == K.WHILE_STMT:
            self._while(path, func, c)
        elif kind == K.BINARY_OPERATOR:
            self._binary(path, func, c, in_for_cond)
        elif kind == K.DECL_REF_EXPR and c.spelling in STRONG_ORDERS:
            self._order(path, func, c)
        elif kind in (K.MEMBER_REF_EXPR, K.UNEXPOSED_EXPR) and c.spelling in STRONG_ORDERS:
            self._order(path, func, c)
        kids = list(c.get_children())
        for i, ch in enumerate(kids):
            cond = in_for_cond or (kind == K.FOR_STMT and i < len(kids) - 1)
            if kind == K.IF_STMT and i >= 1 and _kind(ch) in EXPR_STMT_KINDS and _kind(ch) != K.COMPOUND_STMT:
                # A then/else branch that is a single statement.
                self._statement(path, func, ch)
            self._walk(path, func, ch, locked, cond)

    # -- statements ------------------------------------------------------
    def _compound(self, path, func, c, locked):
        K = ci.CursorKind
        kids = list(c.get_children())
        held = locked
        prev = None
        for i, s in enumerate(kids):
            text = self._text(path, s)
            toks = _tokens(s)
            is_expr = _kind(s) in EXPR_STMT_KINDS
            if _kind(s) == K.DECL_STMT and "Guard" in text:
                held = True
            if is_expr:
                self._statement(path, func, s)
                calls = _calls(toks, ("lock", "unlock"))
                if calls == ["unlock"] and prev is not None and self._movable(path, prev):
                    self._swap("unlock_early", path, func, prev, s)
                if calls == ["lock"] and i + 1 < len(kids) and _kind(kids[i + 1]) in EXPR_STMT_KINDS and \
                        self._movable(path, kids[i + 1]):
                    self._swap("lock_late", path, func, s, kids[i + 1])
                if calls == ["lock"]:
                    held = True
                elif calls == ["unlock"]:
                    held = locked
                if held and prev is not None and self._movable(path, prev) and self._movable(path, s):
                    self._swap("swap_locked", path, func, prev, s)
            prev = s if is_expr else None
            self._walk(path, func, s, held, False)

    def _movable(self, path, s) -> bool:
        """An expression statement that can trade places with its neighbour."""
        if _kind(s) not in EXPR_STMT_KINDS:
            return False
        text = self._text(path, s)
        if self._excluded(text) or STAT_COUNTER.search(text):
            return False
        toks = _tokens(s)
        if _calls(toks, ("lock", "unlock", "wait", "wait_until", "wait_for")):
            return False
        return True

    def _swap(self, op, path, func, a, b):
        ta, tb = self._text(path, a), self._text(path, b)
        if ta == tb:
            return
        if op == "swap_locked" and not _dependent(ta, tb):
            return  # two independent updates inside one critical section: equivalent
        self._add(op, path, func, a, [Edit(a.extent.start.offset, a.extent.end.offset, tb),
                                      Edit(b.extent.start.offset, b.extent.end.offset, ta)])

    def _statement(self, path, func, s):
        K = ci.CursorKind
        text = self._text(path, s)
        if self._excluded(text):
            return
        toks = _tokens(s)
        # drop_notify: the statement is one notify / wake-up call.
        if _kind(s) == K.CALL_EXPR:
            names = _calls(toks, ("notify_one", "notify_all"), prefix="wake_")
            if len(names) == 1 and toks[-1].spelling == ")":
                self._add("drop_notify", path, func, s, [Edit(s.extent.start.offset, s.extent.end.offset, "(void)0")])
        # drop_update: an assignment / ++ / -- of a field.
        target = None
        if _kind(s) in (K.BINARY_OPERATOR, K.COMPOUND_ASSIGNMENT_OPERATOR):
            op = _operator_token(s)
            if op is not None and op.spelling in ("=", "+=", "-=", "|=", "&=", "^=", "<<=", ">>="):
                target = list(s.get_children())[0]
        elif _kind(s) == K.UNARY_OPERATOR and any(t.spelling in ("++", "--") for t in toks[:1] + toks[-1:]):
            kids = list(s.get_children())
            target = kids[0] if kids else None
        if target is not None:
            ttext = self._text(path, target)
            names = re.findall(r"[A-Za-z_]\w*", ttext)
            if names and names[-1] in self.fields:
                self._add("drop_update", path, func, s, [Edit(s.extent.start.offset, s.extent.end.offset, "(void)0")])

    # -- conditions ------------------------------------------------------
    def _condition(self, c):
        """The condition expression of an if/while (after any init statement)."""
        K = ci.CursorKind
        kids = list(c.get_children())
        if len(kids) < 2:
            return None
        # if (init; cond) / if (T x = ...): skip declarations.
        for k in kids[:-1]:
            if _kind(k) not in (K.DECL_STMT, K.VAR_DECL):
                return k
        return None

    def _if(self, path, func, c):
        cond = self._condition(c)
        if cond is None:
            return
        text = self._text(path, cond)
        if self._excluded(text) or not text.strip():
            return
        # `if (x) record(...)`: a guard of logging only is no state transition.
        kids = list(c.get_children())
        branches = [k for k in kids[kids.index(cond) + 1:]] if cond in kids else []
        def logging_only(b):
            stmts = list(b.get_children()) if _kind(b) == ci.CursorKind.COMPOUND_STMT else [b]
            return bool(stmts) and all(self._excluded(self._text(path, x)) for x in stmts)
        if branches and all(logging_only(b) for b in branches):
            return
        self._add("negate_cond", path, func, cond,
                  [Edit(cond.extent.start.offset, cond.extent.end.offset, f"!({text})")])
        self._conjuncts(path, func, cond)

    def _while(self, path, func, c):
        cond = self._condition(c)
        kids = list(c.get_children())
        body = kids[-1]
        btoks = _tokens(body)
        if cond is not None and _calls(btoks, ("wait", "wait_until", "wait_for")):
            toks = _tokens(c)
            if toks and toks[0].spelling == "while":
                t = toks[0]
                self._add("while_to_if", path, func, c, [Edit(t.extent.start.offset, t.extent.end.offset, "if")],
                          context=self._line(path, t))
        if cond is not None and not self._excluded(self._text(path, cond)):
            self._conjuncts(path, func, cond)

    def _conjuncts(self, path, func, cond):
        K = ci.CursorKind
        e = cond
        while _kind(e) in (K.UNEXPOSED_EXPR, K.PAREN_EXPR) and len(list(e.get_children())) == 1 and \
                e.extent.start.offset == list(e.get_children())[0].extent.start.offset:
            e = list(e.get_children())[0]
        if _kind(e) != K.BINARY_OPERATOR:
            return
        op = _operator_token(e)
        if op is None or op.spelling not in ("&&", "||"):
            return
        lhs, rhs = list(e.get_children())
        for keep in (lhs, rhs):
            self._add("drop_conjunct", path, func, e,
                      [Edit(e.extent.start.offset, e.extent.end.offset, f"({self._text(path, keep)})")])

    def _binary(self, path, func, c, in_for_cond):
        if in_for_cond:
            return
        op = _operator_token(c)
        flips = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}
        if op is None or op.spelling not in flips:
            return
        if self._excluded(self._text(path, c)):
            return
        self._add("off_by_one", path, func, c,
                  [Edit(op.extent.start.offset, op.extent.end.offset, flips[op.spelling])])

    def _order(self, path, func, c):
        toks = _tokens(c)
        t = next((t for t in toks if t.spelling in STRONG_ORDERS), None)
        if t is None:
            return
        # The token alone names nothing: the digest takes its source line.
        self._add("relax_order", path, func, c,
                  [Edit(t.extent.start.offset, t.extent.end.offset, "memory_order_relaxed")],
                  context=self._line(path, t))

    def _line(self, path, token) -> str:
        """The source line of a token (the digest of a one-token site)."""
        data = self.texts[path].data
        a = data.rfind(b"\n", 0, token.extent.start.offset) + 1
        b = data.find(b"\n", token.extent.end.offset)
        return data[a:b if b >= 0 else len(data)].decode()


# The engine's statistics counters (n_created_, n_run_, ...): relaxed
# increments nobody orders anything by; moving one is not a bug.
STAT_COUNTER = re.compile(r"\bn_\w+_\s*\.\s*fetch_(add|sub)")
# Calls that only touch the object they are called on (containers, atomics)
# or compute a value: they read no other engine state.
LOCAL_CALLS = {"push_back", "push_front", "pop_front", "pop_back", "remove", "erase", "insert", "clear", "swap",
               "store", "load", "fetch_add", "fetch_sub", "fetch_or", "fetch_and", "exchange", "emplace_back",
               "static_cast", "max", "min", "size", "empty", "front", "back", "begin", "end", "move", "get", "reset",
               "count", "find", "id", "now", "now_ns"}
MUTATING_CALLS = {"push_back", "push_front", "pop_front", "pop_back", "remove", "erase", "insert", "clear", "swap",
                  "store", "fetch_add", "fetch_sub", "fetch_or", "fetch_and", "exchange", "emplace_back", "reset"}


def _written(text: str) -> set:
    """The fields a statement writes: an assignment's or ++/--'s target, the
    object of a mutating container or atomic call."""
    out = set()
    m = re.match(r"\s*(?:\+\+|--)?\s*([\w.\->\[\]()*]+?)\s*(?:\+\+|--)?\s*(?:[-+|&^]|<<|>>)?=(?!=)", text)
    if m:
        names = re.findall(r"[A-Za-z_]\w*", m.group(1))
        if names:
            out.add(names[-1])
    for obj, meth in re.findall(r"([A-Za-z_]\w*)\s*(?:\.|->)\s*([A-Za-z_]\w*)\s*\(", text):
        if meth in MUTATING_CALLS:
            out.add(obj)
    m = re.match(r"\s*(?:\+\+|--)\s*([\w.\->]+)|\s*([\w.\->]+?)\s*(?:\+\+|--)\s*$", text)
    if m:
        names = re.findall(r"[A-Za-z_]\w*", m.group(1) or m.group(2))
        if names:
            out.add(names[-1])
    return out


def _dependent(a: str, b: str) -> bool:
    """Whether swapping two adjacent statements of one critical section can
    change anything: one writes what the other mentions, or one calls engine
    code that may read what the other writes. Two independent updates under
    the same lock are equivalent in either order (nobody else can look in
    between), so they are no mutant."""
    ids_a, ids_b = set(re.findall(r"[A-Za-z_]\w*", a)), set(re.findall(r"[A-Za-z_]\w*", b))
    if _written(a) & ids_b or _written(b) & ids_a:
        return True
    for t in (a, b):
        for name in re.findall(r"([A-Za-z_]\w*)\s*(?:<[^;()]*>)?\s*\(", t):
            if name not in LOCAL_CALLS:
                return True
    return False


def find_mutants(include_dir: str) -> list:
    """Every mutant of the engine under include_dir, in a stable order."""
    f = Finder(include_dir)
    mutants = f.run()
    # One mutant per distinct edit set (a site reached twice by the walk is one mutant).
    seen, out = set(), []
    for m in mutants:
        key = (m.header, tuple((e.start, e.end, e.text) for e in m.edits))
        if key in seen:
            continue
        seen.add(key)
        out.append(m)
    out.sort(key=lambda m: (m.header, min(e.start for e in m.edits), m.id))
    return out


def apply(source: bytes, mutant: Mutant) -> bytes:
    """The header's text with the mutant's edits applied (checked against the original)."""
    out = source
    for e in sorted(mutant.edits, key=lambda e: e.start, reverse=True):
        out = out[:e.start] + e.text.encode() + out[e.end:]
    return out


def fingerprint(mutants: list) -> str:
    h = hashlib.sha256()
    for m in mutants:
        h.update(m.id.encode())
    return h.hexdigest()[:12]
