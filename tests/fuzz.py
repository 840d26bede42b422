"""The fuzzer: every input of every page, tried at its edges by a machine.

``python -m tests.fuzz`` walks the page catalog in ``streamlit.testing.v1.AppTest``. On every
page it finds every input of every tab (number fields, sliders, text fields and areas,
data editors, select boxes, radios, segmented controls, multiselects, toggles, uploaders),
and tries each at its edge values — 0, −1, the widget's bounds, 10⁵, 10⁹, decimals, empty,
very long and unicode text, blank and huge table cells, every option, the bad-file corpus
of ``tests.fuzz_corpus`` — one change at a time from the page's defaults. Inputs that only
appear after a choice (an upload field once "Upload" is picked, a video's settings once
a usable video is uploaded), or after two, are tried with those choices made. Buttons are
never pressed, so no long job starts.

Each trial must leave no exception element, no uncaught error in the script run, the
page's heading on the page, and the process's peak resident memory at most the job budget
(``core.runtime.budget.job_budget_bytes``) above what it was before the run. The process runs under
an address-space limit (``RLIMIT_AS``) of its size after warming up plus the budget plus
``SLACK_BYTES``, so an unbounded allocation fails as a trial instead of waking the kernel's
out-of-memory killer. It prints one line per trial (page, tab, widget, value, outcome) and
the totals, and exits 1 when a trial failed.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import streamlit.testing.v1.element_tree as tree
import torch
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest, app_test, local_script_runner

from core.runtime.budget import PeakMemory, job_budget_bytes
from tests.conftest import ROOT
from tests.fuzz_corpus import BadFile, corpus_for
from ui.catalog import PAGES, PageInfo

SLACK_BYTES = 3_000_000_000  # threads' stacks and arenas, models loaded on first use
RUN_TIMEOUT_S = 120
MAX_OPTIONS = 12  # a choice with more options tries the first, the last and ten between
LONG_TEXT = "W" * 100_000
TEXTS = ("", " ", "0", "-1", "1e9", "3.5", "nan", "a, b, ,", "é 😀 名前 \u202eRTL\u0000", "<b>x</b> $\\frac{1}{0}$")
TEXTS_WITH_LONG = (*TEXTS, LONG_TEXT)
CELL_VALUES = (None, 0, -1, 0.5, 10**9)
CHOICES = (tree.Selectbox, tree.Radio, tree.ButtonGroup, tree.Multiselect, tree.Toggle)
INPUTS = (tree.NumberInput, tree.Slider, tree.TextInput, tree.TextArea, tree.FileUploader, *CHOICES)
CHOICE_KINDS = {kind.__name__ for kind in CHOICES}
OPENING_KINDS = {*CHOICE_KINDS, tree.FileUploader.__name__}  # an upload of a usable file opens inputs too


class Label(str):
    """An option chosen by its label, the way the browser sends it: AppTest otherwise passes
    it through the page's ``format_func`` first, which a ``dict.get`` turns into None."""


class _CompiledOnce(ScriptCache):
    """One bytecode cache for every run, as a running server keeps (AppTest compiles the
    scripts again on each run, a sixth of a small page's run)."""

    _shared: dict[str, object] = {}

    def __init__(self) -> None:
        super().__init__()
        self._cache = self._shared


app_test.ScriptCache = local_script_runner.ScriptCache = _CompiledOnce

_format_value = tree._format_value_for_widget
tree._format_value_for_widget = lambda format_func, value: (
    str(value) if isinstance(value, Label) else _format_value(format_func, value)
)


@dataclass(frozen=True)
class Target:
    """One input found on a page: its kind, id, label and the tab it sits in."""

    kind: str
    id: str
    label: str
    tab: str

    @property
    def identity(self) -> tuple[str, str, str]:
        """The same input under every choice, though its id may change with it (a preset in its key)."""
        return self.kind, self.label, self.tab


@dataclass(frozen=True)
class Value:
    """One value to try: how the report shows it and how it is put into the widget."""

    shown: str
    put: Callable[[object], None]


@dataclass(frozen=True)
class Trial:
    page: str
    tab: str
    widget: str
    value: str
    outcome: str  # "message shown", "accepted" or "FAILED: …"
    peak_mb: float

    @property
    def failed(self) -> bool:
        return self.outcome.startswith("FAILED")


@dataclass
class Report:
    trials: list[Trial] = field(default_factory=list)
    widgets: set[tuple[str, ...]] = field(default_factory=set)


# -- finding the inputs --------------------------------------------------------------------------------------------


def _walk(node: object, tab: str) -> Iterator[tuple[object, str]]:
    for child in getattr(node, "children", {}).values():
        inner = child.label if isinstance(child, tree.Tab) else tab
        yield child, inner
        yield from _walk(child, inner)


def targets(app: AppTest) -> list[Target]:
    """Every input on the page as it stands (data editors included), in page order."""
    found = []
    for element, tab in _walk(app._tree, "–"):
        if isinstance(element, INPUTS) and not getattr(element.proto, "disabled", False):
            found.append(Target(type(element).__name__, element.id, element.label, tab))
        elif isinstance(element, tree.Dataframe) and element.editing_mode in ("fixed", "dynamic") and element.key:
            found.append(
                Target("DataEditor", element.key, f"table of {', '.join(map(str, element.value.columns))}", tab)
            )
    return found


def element(app: AppTest, target: Target):
    """The element of ``target`` in the app's current tree, or None when it is gone."""
    for candidate, _ in _walk(app._tree, "–"):
        if target.kind == "DataEditor":
            if isinstance(candidate, tree.Dataframe) and candidate.key == target.id:
                return candidate
        elif isinstance(candidate, INPUTS) and candidate.id == target.id:
            return candidate
    return None


# -- the values each kind of input is tried with -------------------------------------------------------------------


def _sampled(options: list) -> list:
    if len(options) <= MAX_OPTIONS:
        return options
    step = (len(options) - 1) / (MAX_OPTIONS - 1)
    return [options[round(index * step)] for index in range(MAX_OPTIONS)]


def number_values(widget: tree.NumberInput) -> list[Value]:
    whole = widget.proto.data_type == widget.proto.INT
    edges = [0, -1, 1, 100_000, 10**9] if whole else [0.0, -1.0, 1e-7, 0.5, 100_000.0, 1e9]
    if widget.proto.has_min:
        edges.append(int(widget.proto.min) if whole else widget.proto.min)
    if widget.proto.has_max:
        edges.append(int(widget.proto.max) if whole else widget.proto.max)
    return [Value(f"{value:g}", lambda w, v=value: w.set_value(v)) for value in dict.fromkeys(edges)]


def slider_values(widget: tree.Slider) -> list[Value]:
    low, high = widget.min, widget.max
    middle = low + (high - low) / 2 if isinstance(low, float) else (low + high) // 2
    if isinstance(widget.value, tuple):
        pairs = [(low, low), (high, high), (low, high)]
        return [Value(f"{pair}", lambda w, p=pair: w.set_range(*p)) for pair in pairs]
    return [Value(f"{value}", lambda w, v=value: w.set_value(v)) for value in dict.fromkeys([low, high, middle])]


def text_values(widget: tree.TextInput | tree.TextArea) -> list[Value]:
    limit = widget.proto.max_chars or None
    values = [text[:limit] if limit else text for text in TEXTS_WITH_LONG]
    return [
        Value(repr(text[:24]) + ("…" if len(text) > 24 else ""), lambda w, t=text: w.set_value(t)) for text in values
    ]


def choice_values(widget) -> list[Value]:
    if isinstance(widget, tree.Toggle):
        return [Value(str(not widget.value), lambda w, v=not widget.value: w.set_value(v))]
    options = [Label(option) for option in widget.options]
    if isinstance(widget, tree.Multiselect):
        return [Value("none", lambda w: w.set_value([])), Value("all", lambda w, o=options: w.set_value(o))]
    current = widget.format_func(widget.value) if widget.value is not None else None
    values = [option for option in _sampled(options) if option != current]
    return [Value(option, lambda w, o=option: w.set_value(o)) for option in values]


def upload_values(widget: tree.FileUploader, opening: bool = False) -> list[Value]:
    """The corpus for this uploader; ``opening``: only its files that reveal more inputs."""
    types = list(widget.proto.type)
    extension = types[0].lstrip(".") if types else None

    def put(w, file: BadFile) -> None:
        name = file.name if extension is None else file.name.rsplit(".", 1)[0] + "." + extension
        w.upload(name, file.data, file.mime)

    files = [file for file in corpus_for(types) if file.opens or not opening]
    return [Value(file.what, lambda w, f=file: put(w, f)) for file in files]


def opening_values(widget) -> list[Value]:
    """The values of a choice, or the usable files of an uploader: what may reveal inputs."""
    return upload_values(widget, opening=True) if isinstance(widget, tree.FileUploader) else choice_values(widget)


def editor_values(app: AppTest, editor: tree.Dataframe) -> list[Value]:
    """Blank, zero, negative, fractional and huge numbers in each column of the first row;
    and, where rows may be added and deleted, every row deleted and an empty row added.
    Applied as the editor's edit state."""
    frame = editor.value
    key = editor.key

    def edits(edited=None, added=(), deleted=()) -> Callable[[object], None]:
        state = {"edited_rows": edited or {}, "added_rows": list(added), "deleted_rows": list(deleted)}
        return lambda _: app.session_state.__setitem__(key, state)

    values = []
    if editor.editing_mode == "dynamic":
        values += [
            Value("every row deleted", edits(deleted=range(len(frame)))),
            Value("an empty row added", edits(added=[{}])),
        ]
    if len(frame):
        for column in frame.columns:
            for cell in CELL_VALUES:
                values.append(Value(f"[0, {column!r}] = {cell}", edits(edited={0: {str(column): cell}})))
    return values


def values_for(app: AppTest, widget) -> list[Value]:
    if isinstance(widget, tree.NumberInput):
        return number_values(widget)
    if isinstance(widget, tree.Slider):
        return slider_values(widget)
    if isinstance(widget, (tree.TextInput, tree.TextArea)):
        return text_values(widget)
    if isinstance(widget, tree.FileUploader):
        return upload_values(widget)
    if isinstance(widget, tree.Dataframe):
        return editor_values(app, widget)
    return choice_values(widget)


def reset(app: AppTest, target: Target, widget, default: object) -> None:
    """Put ``widget`` back as it was before its trials."""
    if target.kind == "DataEditor":
        app.session_state[target.id] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
    elif isinstance(widget, tree.FileUploader):
        widget.clear()
    elif isinstance(widget, tree.Slider) and isinstance(default, tuple):
        widget.set_range(*default)
    else:
        widget.set_value(default)


# -- running the trials --------------------------------------------------------------------------------------------


def fresh(page: PageInfo) -> AppTest:
    """A new session on ``page``: through the app's navigation, or alone for a script given
    by its absolute path (the fuzzer's own tests)."""
    if Path(page.script).is_absolute():
        return AppTest.from_file(page.script, default_timeout=RUN_TIMEOUT_S).run()
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=RUN_TIMEOUT_S)
    app.switch_page(page.script).run()
    return app


def judge(app: AppTest, page: PageInfo, run: Callable[[], None], baseline: set[str]) -> tuple[str, float]:
    """Run ``run`` (one app run), then say what became of it."""
    with PeakMemory(torch.device("cpu")) as peak:
        try:
            run()
        except Exception as error:  # an uncaught error in the script run (or a time-out)
            return f"FAILED: the run raised {type(error).__name__}: {str(error)[:160]}", 0.0
    grown = (peak.bytes or 0) / 1e6
    if app.exception:
        return f"FAILED: exception on the page: {app.exception[0].value[:160]}", grown
    if page.title not in [title.value for title in app.title]:
        return "FAILED: the page's heading is gone", grown
    if grown * 1e6 > job_budget_bytes():
        return f"FAILED: memory grew by {grown:,.0f} MB, over the job budget", grown
    said = messages(app) - baseline
    return ("message shown" if said else "accepted"), grown


def messages(app: AppTest) -> set[str]:
    return {element.value for kind in ("error", "warning") for element in getattr(app, kind)}


Context = tuple[tuple[Target, Value], ...]  # the choices made before the trials, in order
MAX_DEPTH = 2  # an input behind two choices (a digit photo's upload field) is reached; deeper is not


def fresh_in(page: PageInfo, context: Context) -> AppTest | None:
    """A new session on ``page`` with the choices of ``context`` made; None if one is missing."""
    app = fresh(page)
    for target, value in context:
        widget = element(app, target)
        if widget is None:
            return None
        value.put(widget)
        app.run()
    return app


def fuzz_in(page: PageInfo, report: Report, context: Context, skip: set[tuple[str, str, str]]) -> list[Target]:
    """Try every input not in ``skip`` on the page with the choices of ``context`` made;
    returns the inputs it found."""
    app = fresh_in(page, context)
    if app is None:
        return []
    baseline = messages(app)
    found = targets(app)
    chosen = {target.id for target, _ in context}
    where = "".join(f" ({target.label} = {value.shown})" for target, value in context)
    for target in found:
        if target.identity in skip or target.id in chosen:
            continue
        widget = element(app, target)
        if widget is None:
            continue
        report.widgets.add((page.title, *target.identity))
        default = widget.value if target.kind != "DataEditor" else None
        for value in values_for(app, widget):
            widget = element(app, target)
            if widget is None:  # an earlier value hid it: start from the context again
                app = fresh_in(page, context)
                widget = element(app, target) if app is not None else None
                if widget is None:
                    break
            value.put(widget)
            outcome, grown = judge(app, page, app.run, baseline)
            trial = Trial(
                page.title, target.tab + where, f"{target.kind} {target.label!r}", value.shown, outcome, grown
            )
            report.trials.append(trial)
            print(" | ".join([trial.page, trial.tab, trial.widget, trial.value, trial.outcome, f"{grown:,.0f} MB"]))
            if trial.failed:
                app = fresh_in(page, context)
                if app is None:
                    break
        widget = element(app, target) if app is not None else None
        if widget is not None:
            try:
                reset(app, target, widget, default)
                app.run()
            except Exception:
                app = fresh_in(page, context)
        if app is None:
            break
    sys.stdout.flush()
    return found


def explore(page: PageInfo, report: Report, context: Context, seen: set, explored: set) -> None:
    """For each option of each choice not yet explored, try the inputs that option reveals
    with it chosen; then, up to ``MAX_DEPTH`` choices deep, the choices it reveals."""
    probe = fresh_in(page, context)
    if probe is None:
        return
    choices = [t for t in targets(probe) if t.kind in OPENING_KINDS and t.identity not in explored]
    explored |= {choice.identity for choice in choices}
    for choice in choices:
        widget = element(probe, choice)
        if widget is None:  # a choice that an earlier one hid
            continue
        default = widget.value
        for value in opening_values(widget):
            value.put(widget)
            probe.run()
            here = {target.identity for target in targets(probe)}
            deeper = context + ((choice, value),)
            if here - seen:
                seen |= {target.identity for target in fuzz_in(page, report, deeper, seen)}
            if len(deeper) < MAX_DEPTH and any(kind in OPENING_KINDS for kind, _, _ in here - explored):
                explore(page, report, deeper, seen, explored)
            widget = element(probe, choice)
            if widget is None:  # this option hid the choice itself
                break
        if widget is None or probe.exception or choice.kind not in CHOICE_KINDS:  # an upload is undone afresh
            probe = fresh_in(page, context)
            if probe is None:
                return
        else:
            widget.set_value(default)
            probe.run()


def fuzz_page(page: PageInfo, report: Report) -> None:
    """Every input at the defaults; then the inputs that one choice, or two, reveal."""
    fuzz_in(page, report, (), set())
    probe = fresh(page)
    explore(page, report, (), {target.identity for target in targets(probe)}, set())


def limit_address_space() -> int:
    """Cap the process's address space at its present size plus the job budget plus slack."""
    size_kib = next(
        int(line.split()[1]) for line in open("/proc/self/status").read().splitlines() if line.startswith("VmSize:")
    )
    limit = size_kib * 1024 + job_budget_bytes() + SLACK_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    return limit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", action="append", help="only pages whose title contains this (repeatable)")
    options = parser.parse_args(argv)
    pages = [page for page in PAGES if not options.page or any(part in page.title for part in options.page)]
    for page in pages:  # warm up: imports and models loaded once, before the limit is set
        fresh(page)
    for name in [name for name in logging.root.manager.loggerDict if name.startswith("streamlit")]:
        logging.getLogger(name).setLevel(logging.ERROR)  # each AppTest run warns of a missing script context
    limit = limit_address_space()
    print(f"address space limited to {limit / 1e9:.1f} GB; job budget {job_budget_bytes() / 1e6:,.0f} MB", flush=True)
    report, started = Report(), time.monotonic()
    for page in pages:
        fuzz_page(page, report)
    failures = [trial for trial in report.trials if trial.failed]
    messages_shown = sum(trial.outcome == "message shown" for trial in report.trials)
    print(
        f"\n{len(pages)} pages, {len(report.widgets)} widgets, {len(report.trials)} values tried: "
        f"{messages_shown} message shown, {len(report.trials) - messages_shown - len(failures)} accepted, "
        f"{len(failures)} failed; peak growth {max((t.peak_mb for t in report.trials), default=0):,.0f} MB; "
        f"{time.monotonic() - started:.0f} s"
    )
    for trial in failures:
        print(f"FAILED {trial.page} | {trial.tab} | {trial.widget} | {trial.value} | {trial.outcome}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
