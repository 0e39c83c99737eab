"""Runbooks: Markdown files with a TOML front-matter block, loaded, matched to incidents, searched.

A runbook file looks like this:

    +++
    id = "identity-service-outage"
    title = "Identity Service Outage"
    version = "3"

    [match]                      # all optional: what makes an incident look like this runbook
    services = ["identity", "auth"]
    alertnames = ["IdentityServiceDown"]
    labels = { component = ["identity"] }
    keywords = ["login", "jwks"]
    +++

    ## Symptoms
    - Users unable to authenticate

    ## Possible Causes
    - JWKS cache failure

    ## Steps
    1. Check database connectivity
    2. Verify JWKS cache status

The front matter is TOML between `+++` lines (as Hugo writes it) because Python reads TOML itself:
no dependency, the same language as `policy.toml`, and a mistake is reported with its line and column
instead of being half-understood by a hand-written YAML subset. The seed's own style
(`**Symptoms**: …`, `**Steps**:`) is accepted as well, so its sections can be pasted as they are.

Steps are numbered across the whole runbook (1…N, whatever the file's own numbers), and that number
is the step's key on the timeline and in the `checks` table. The runbook with id `process` is the
response process every incident follows; its steps may carry `<!-- desk: KEY -->` comments so the
desk ticks them itself (see `oncall_tui.checklist`).

Shipped runbooks come first, then each user directory in order; a later file with the same id
replaces an earlier one. A broken file is reported by name and skipped; the others still load.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import DeskError
from .model import Incident
from .paths import config_dir, data_dir, escapes, refusal

PROCESS_ID = "process"
FENCE = "+++"
# What a process step's `<!-- desk: KEY -->` may name (each is a fact in `checklist.DESK_FACTS`),
# and what a heading's `<!-- applies: … -->` may say.
DESK_KEYS = (
    "detected",
    "routed",
    "acknowledged",
    "escalated",
    "severity",
    "ticket",
    "notified",
    "root_cause",
    "eta",
    "mitigated",
    "deployed",
    "monitored",
    "resolved",
    "review_scheduled",
    "review_done",
    "prevention",
    "contributing_factors",
    "timeline",
    "action_items",
)
APPLIES = ("review",)

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_STEP = re.compile(r"^( {0,3})(\d{1,3})[.)](?:\s+(.*))?$")
_BULLET = re.compile(r"^ {0,3}[-*+]\s+(.*)$")
# The seed's inline section labels: "**Symptoms**: Users unable to authenticate", "**Steps**:".
_LABEL = re.compile(r"^\*\*([^*]+?)\*\*\s*:?\s*(.*)$")
_ANNOTATION = re.compile(r"<!--\s*([A-Za-z][\w-]*)\s*:\s*(.*?)\s*-->")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CODE_FENCE = re.compile(r"^\s*(```|~~~)")
_WORD = re.compile(r"[a-z0-9]+")

_SYMPTOMS = {"symptoms", "symptom"}
_CAUSES = {"possible causes", "causes", "likely causes"}
_KNOWN_KEYS = {"id", "title", "version", "match"}
_MATCH_KEYS = {"services", "alertnames", "labels", "keywords"}

# How much each kind of evidence counts when suggesting a runbook for an incident.
SCORE_SERVICE = 10
SCORE_ALERTNAME = 10
SCORE_LABEL = 6
SCORE_SERVICE_PART = 6  # "identity-api" names the "identity" service
SCORE_SERVICE_IN_TITLE = 4
SCORE_KEYWORD = 2


class RunbookError(DeskError, ValueError):
    """A runbook file that cannot be used; the message says what is wrong, for its author."""

    title = "Runbooks"


# --- the data ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    number: int  # 1…N across the runbook: the key checks and timeline events use
    ordinal: int  # its number within its section, as the reader sees it
    text: str  # Markdown, annotations removed; may hold an indented sub-list or code block
    desk: str = ""  # the desk fact that ticks it by itself (process runbook only)

    @property
    def headline(self) -> str:
        """The first line, for one-line displays and the timeline."""
        return self.text.split("\n", 1)[0].strip()


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    intro: str  # Markdown before the steps
    steps: tuple[Step, ...]
    applies: str = ""  # "" always; "review" only when a post-incident review is due


@dataclass(frozen=True, slots=True)
class MatchRules:
    services: tuple[str, ...] = ()
    alertnames: tuple[str, ...] = ()
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Runbook:
    id: str
    title: str
    version: str
    path: Path
    match: MatchRules
    summary: str  # Markdown before the first section
    symptoms: tuple[str, ...]
    causes: tuple[str, ...]
    sections: tuple[Section, ...]  # the ones with steps
    body: str  # the Markdown after the front matter, as written
    # Derived once at parse time: lower-case text for search, and the match rules for comparing.
    search_text: str = field(repr=False, compare=False, default="")
    folded: MatchRules = field(repr=False, compare=False, default_factory=MatchRules)

    @property
    def is_process(self) -> bool:
        return self.id == PROCESS_ID

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for section in self.sections for s in section.steps)

    @property
    def step_count(self) -> int:
        return sum(len(section.steps) for section in self.sections)

    def step(self, number: int) -> Step:
        for s in self.steps:
            if s.number == number:
                return s
        raise KeyError(f"{self.id} has no step {number}")


@dataclass(frozen=True, slots=True)
class Problem:
    """A runbook file the desk could not use (skipped), or used with a caveat (not skipped)."""

    path: Path
    message: str
    skipped: bool = True

    def __str__(self) -> str:
        verdict = "skipped" if self.skipped else "loaded anyway"
        return f"runbook {self.path}: {self.message} ({verdict})"


# --- parsing ----------------------------------------------------------------------------------


def parse_runbook(text: str, path: Path) -> tuple[Runbook, list[str]]:
    """Parse one runbook file's text; returns it with non-fatal remarks, or raises RunbookError."""
    meta, body, remarks = _split_front_matter(text)
    rb_id = _required_text(meta, "id")
    if not _ID.match(rb_id):
        raise RunbookError(f"id {rb_id!r} must be lower-case letters, digits, '.', '_' or '-'")
    title = _required_text(meta, "title")
    version = _required_text(meta, "version")
    rules = _match_rules(meta.get("match", {}))
    summary, symptoms, causes, sections = _parse_body(body)
    if not sections:
        raise RunbookError("no steps: a runbook needs a numbered list of steps (1. …)")
    if rb_id == PROCESS_ID and any(getattr(rules, k) for k in _MATCH_KEYS):
        remarks.append("the process applies to every incident; its [match] rules are ignored")
    for section in sections:
        if section.applies and section.applies not in APPLIES:
            remarks.append(f"section {section.title!r}: unknown 'applies: {section.applies}' (known: review)")
        for s in section.steps:
            if s.desk and s.desk not in DESK_KEYS:
                remarks.append(f"step {s.number}: unknown 'desk: {s.desk}' (known: {', '.join(DESK_KEYS)})")
    runbook = Runbook(
        id=rb_id,
        title=title,
        version=version,
        path=path,
        match=rules,
        summary=summary,
        symptoms=symptoms,
        causes=causes,
        sections=sections,
        body=body,
    )
    return _indexed(runbook), remarks


def readable_markdown(runbook: Runbook) -> str:
    """The runbook's Markdown as a person reads it: the notes for the desk and for authors taken out."""
    text = re.sub(r"[ \t]*<!--.*?-->", "", runbook.body, flags=re.S)
    return re.sub(r"\n{3,}", "\n\n", text)


def parse_file(path: Path) -> tuple[Runbook, list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RunbookError("not UTF-8 text") from None
    except OSError as exc:
        raise RunbookError(f"cannot read it: {exc.strerror or exc}") from None
    return parse_runbook(text, path)


def _split_front_matter(text: str) -> tuple[dict[str, Any], str, list[str]]:
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != FENCE:
        raise RunbookError(f"no front matter: the file must start with a {FENCE} line, then id, title and version")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == FENCE)
    except StopIteration:
        raise RunbookError(f"front matter is not closed: add a {FENCE} line after it") from None
    try:
        meta = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        # tomllib counts lines from the block; the author counts them from the file's top.
        message = re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + 1}", str(exc))
        raise RunbookError(f"bad front matter: {message}") from None
    remarks = [f"unknown front-matter key {key!r} ignored" for key in meta if key not in _KNOWN_KEYS]
    if isinstance(meta.get("match"), dict):
        remarks += [f"unknown key match.{key} ignored" for key in meta["match"] if key not in _MATCH_KEYS]
    return meta, "\n".join(lines[end + 1 :]).strip("\n") + "\n", remarks


def _required_text(meta: dict[str, Any], key: str) -> str:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
        raise RunbookError(f'front matter needs {key} = "…"')
    return str(value).strip()


def _strings(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RunbookError(f"{where} must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def _match_rules(raw: object) -> MatchRules:
    if not isinstance(raw, dict):
        raise RunbookError("match must be a table: [match]")
    labels = raw.get("labels", {})
    if not isinstance(labels, dict):
        raise RunbookError('match.labels must be a table, e.g. labels = { component = ["identity"] }')
    return MatchRules(
        services=_strings(raw.get("services", []), "match.services"),
        alertnames=_strings(raw.get("alertnames", []), "match.alertnames"),
        labels={str(k).lower(): _strings(v, f"match.labels.{k}") for k, v in labels.items()},
        keywords=_strings(raw.get("keywords", []), "match.keywords"),
    )


@dataclass
class _Draft:
    """A section while it is being read."""

    title: str
    applies: str = ""
    intro: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # bullets, for symptoms and causes
    steps: list[list[str]] = field(default_factory=list)  # each step's lines, marker removed


def _parse_body(body: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[Section, ...]]:
    drafts = [_Draft("")]
    step: list[str] | None = None  # the lines of the step being read
    indent = 0  # where the open step's text starts, to dedent its continuation lines
    blank = False  # the previous line was blank
    fenced = False  # inside a ``` block
    for raw in _strip_block_comments(body).splitlines():
        line = raw.rstrip()
        current = drafts[-1]
        deep = _indent(line) >= 2
        if step is not None and not fenced and blank and line and not deep:
            step = None  # an unindented line after a blank one ends the list
        if fenced or _CODE_FENCE.match(line):
            if _CODE_FENCE.match(line):
                fenced = not fenced
            if step is not None:
                step.append(line[indent:] if _indent(line) >= indent else line.lstrip())
            else:
                current.intro.append(line)
            blank = False
            continue
        if not line:
            blank = True
            (step if step is not None else current.intro).append("")
            continue
        blank = False
        heading = _HEADING.match(line)
        label = _LABEL.match(line) if not heading and not deep else None
        if label and label.group(1).strip().lower() not in _SYMPTOMS | _CAUSES | {"steps"}:
            label = None  # bold text that is not one of the seed's section labels
        if heading or label:
            step = None
            if heading:
                title, rest = heading.group(2), ""
            else:
                assert label is not None  # `heading or label` held
                title, rest = label.group(1), label.group(2)
            if heading and len(heading.group(1)) == 1:
                continue  # the document's title: the front matter already names the runbook
            applies = dict(_ANNOTATION.findall(title)).get("applies", "").strip().lower()
            drafts.append(_Draft(_plain_title(_COMMENT.sub("", title)), applies))
            if rest.strip():
                drafts[-1].intro.append(rest.strip())
            continue
        numbered = _STEP.match(line)
        if numbered and (step is None or _indent(line) < indent):
            step = [numbered.group(3) or ""]
            current.steps.append(step)
            indent = len(numbered.group(1)) + len(numbered.group(2)) + 2
            continue
        bullet = _BULLET.match(line)
        if step is not None and (deep or not bullet):
            step.append(line[indent:] if _indent(line) >= indent else line.strip())
            continue
        step = None
        if bullet:
            current.items.append(bullet.group(1).strip())
        else:
            current.intro.append(line.strip())

    summary = _markdown(drafts[0].intro)
    symptoms: list[str] = []
    causes: list[str] = []
    sections: list[Section] = []
    number = 0
    for draft in drafts:
        key = draft.title.lower()
        if key in _SYMPTOMS or key in _CAUSES:
            items = draft.items + ["\n".join(s).strip() for s in draft.steps]
            intro = _markdown(draft.intro)
            (symptoms if key in _SYMPTOMS else causes).extend(([intro] if intro else []) + items)
            continue
        if not draft.steps:
            continue
        steps = []
        for ordinal, lines in enumerate(draft.steps, 1):
            text = "\n".join(lines)
            desk = dict(_ANNOTATION.findall(text)).get("desk", "").strip().lower()
            text = _markdown(_COMMENT.sub("", text).splitlines())
            if not text:
                raise RunbookError(f"step {ordinal} of {draft.title or 'the runbook'} is empty")
            number += 1
            steps.append(Step(number=number, ordinal=ordinal, text=text, desk=desk))
        intro = _markdown(draft.intro + ([f"- {i}" for i in draft.items] if draft.items else []))
        sections.append(Section(draft.title or "Steps", intro, tuple(steps), draft.applies))
    return summary, tuple(symptoms), tuple(causes), tuple(sections)


def _strip_block_comments(text: str) -> str:
    """Drop HTML comments that stand on their own lines (notes for authors); keep inline ones,
    which carry annotations and are removed later."""
    return re.sub(r"^[ \t]*<!--(?:(?!-->).)*?-->[ \t]*$\n?", "", text, flags=re.S | re.M)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _plain_title(title: str) -> str:
    """'2. Initial Response' → 'Initial Response': the section's own order gives the number."""
    return re.sub(r"^\d+[.)]\s+", "", title.strip("* ")).strip()


def _markdown(lines: Iterable[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


def _indexed(rb: Runbook) -> Runbook:
    parts = [
        rb.title,
        rb.id,
        rb.summary,
        *rb.symptoms,
        *rb.causes,
        *(s.title for s in rb.sections),
        *(s.intro for s in rb.sections),
        *(step.text for step in rb.steps),
        *rb.match.services,
        *rb.match.alertnames,
        *rb.match.keywords,
    ]
    return replace(rb, search_text="\n".join(parts).lower(), folded=_folded(rb.match))


# --- the library ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Suggestion:
    runbook: Runbook
    score: int
    reasons: tuple[str, ...]
    strong: bool = False  # a service, alert name or label matched, not just words


@dataclass(frozen=True, slots=True)
class RunbookMatch:
    """Which runbook applies to an incident, and why."""

    runbook: Runbook | None
    chosen: bool  # the incident's symptom names it (else it is a suggestion)
    reasons: tuple[str, ...]
    suggestions: tuple[Suggestion, ...]  # best first, for "choose runbook"
    missing: str = ""  # the incident names a runbook that is not (or no longer) there

    @property
    def confident(self) -> bool:
        return confident_choice(self.suggestions) is not None


def confident_choice(suggestions: Sequence[Suggestion]) -> Runbook | None:
    """The suggestion sure enough to record without asking: strong evidence (a service, alert name
    or label), and no runner-up as good."""
    if not suggestions or not suggestions[0].strong:
        return None
    if len(suggestions) > 1 and suggestions[1].score == suggestions[0].score:
        return None
    return suggestions[0].runbook


@dataclass(frozen=True, slots=True)
class SearchHit:
    runbook: Runbook
    score: int
    excerpt: str  # the line that matched, for the list


@dataclass(frozen=True, slots=True)
class Progress:
    runbook: str
    done: int
    total: int

    def __str__(self) -> str:
        return f"{self.done}/{self.total}"


class RunbookLibrary:
    """Every runbook the desk knows, parsed once and re-read only when a file changes."""

    def __init__(self, user_dirs: Sequence[Path | str] = (), *, shipped_dir: Path | None = None) -> None:
        self.shipped_dir = shipped_dir if shipped_dir is not None else data_dir() / "runbooks"
        self.user_dirs = tuple(Path(d).expanduser() for d in user_dirs)
        self.runbooks: dict[str, Runbook] = {}
        self.problems: tuple[Problem, ...] = ()
        self._parsed: dict[Path, tuple[tuple[int, int], Runbook | RunbookError, list[str]]] = {}
        self._match_cache: dict[tuple[object, ...], RunbookMatch] = {}
        self.generation = 0  # bumped by every reload that changed something: views key caches on it
        self.reload()

    @property
    def dirs(self) -> tuple[Path, ...]:
        return (self.shipped_dir, *self.user_dirs)

    @property
    def edit_dir(self) -> Path:
        """Where a user's copy of a shipped runbook goes: the last user dir, so the copy wins."""
        return self.user_dirs[-1] if self.user_dirs else config_dir() / "runbooks"

    def is_shipped(self, runbook: Runbook) -> bool:
        return runbook.path.parent == self.shipped_dir

    def reload(self) -> bool:
        """Re-read the directories; parse only files that changed. True when anything changed."""
        before = (self.runbooks, self.problems)
        runbooks: dict[str, Runbook] = {}
        problems: list[Problem] = []
        seen: set[Path] = set()
        for directory in self.dirs:
            defined_here: dict[str, Path] = {}
            for path in self._files(directory, problems):
                seen.add(path)
                outcome = self._parse_cached(path)
                if outcome is None:
                    continue
                parsed, remarks = outcome
                if isinstance(parsed, RunbookError):
                    problems.append(Problem(path, str(parsed)))
                    continue
                problems.extend(Problem(path, r, skipped=False) for r in remarks)
                if parsed.id in defined_here:
                    problems.append(
                        Problem(
                            defined_here[parsed.id],
                            f"{path.name} in the same directory also has id {parsed.id!r}; using {path.name}",
                        )
                    )
                defined_here[parsed.id] = path
                runbooks[parsed.id] = parsed
        for stale in set(self._parsed) - seen:
            del self._parsed[stale]
        ordered = sorted(runbooks.values(), key=lambda r: (not r.is_process, r.title.lower(), r.id))
        self.runbooks = {r.id: r for r in ordered}
        self.problems = tuple(problems)
        changed = (self.runbooks, self.problems) != before
        if changed:
            self._match_cache.clear()
            self.generation += 1
        return changed

    def _files(self, directory: Path, problems: list[Problem]) -> list[Path]:
        if not directory.is_dir():
            if directory.exists():
                problems.append(Problem(directory, "is not a directory"))
            elif directory != self.shipped_dir and directory != config_dir() / "runbooks":
                problems.append(Problem(directory, "no such directory"))
            return []
        try:
            names = sorted(p for p in directory.iterdir() if p.suffix == ".md" and not p.name.startswith((".", "#")))
        except OSError as exc:
            problems.append(Problem(directory, f"cannot list it: {exc.strerror or exc}"))
            return []
        files = []
        for path in names:
            if (target := escapes(path, directory)) is not None:
                problems.append(Problem(path, refusal(path, directory, target, "runbook")))
            elif path.is_file():
                files.append(path)
        return files

    def _parse_cached(self, path: Path) -> tuple[Runbook | RunbookError, list[str]] | None:
        try:
            st = path.stat()
        except OSError:
            return None  # removed between listing and reading
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._parsed.get(path)
        if cached is None or cached[0] != stamp:
            try:
                runbook, remarks = parse_file(path)
                cached = (stamp, runbook, remarks)
            except RunbookError as exc:
                cached = (stamp, exc, [])
            self._parsed[path] = cached
        return cached[1], cached[2]

    # --- reading ---

    def get(self, runbook_id: str) -> Runbook | None:
        return self.runbooks.get(runbook_id)

    @property
    def process(self) -> Runbook | None:
        return self.runbooks.get(PROCESS_ID)

    @property
    def symptom_runbooks(self) -> list[Runbook]:
        return [r for r in self.runbooks.values() if not r.is_process]

    def __iter__(self) -> Iterator[Runbook]:
        return iter(self.runbooks.values())

    def __len__(self) -> int:
        return len(self.runbooks)

    # --- matching ---

    def suggest(
        self,
        *,
        title: str = "",
        services: Iterable[str] = (),
        labels: dict[str, str] | None = None,
        impact: str = "",
    ) -> list[Suggestion]:
        """Symptom runbooks that fit an incident's services, alert labels and words, best first."""
        services = [s.strip().lower() for s in services if s.strip()]
        shown = {str(k).lower(): str(v).strip() for k, v in (labels or {}).items()}
        labels = {k: v.lower() for k, v in shown.items()}
        alertname = labels.get("alertname", "")
        text = f"{title}\n{impact}".lower()
        words = set(_WORD.findall(text))
        phrase = " ".join(_WORD.findall(text))
        found: list[Suggestion] = []
        for rb in self.symptom_runbooks:
            rules = rb.folded
            score, reasons = 0, []
            for svc in services:
                parts = set(_WORD.findall(svc))
                if svc in rules.services:
                    score += SCORE_SERVICE
                    reasons.append(f"service {svc}")
                elif hit := next((r for r in rules.services if r in parts), None):
                    score += SCORE_SERVICE_PART
                    reasons.append(f"service {svc} ({hit})")
            if alertname and alertname in rules.alertnames:
                score += SCORE_ALERTNAME
                reasons.append(f"alert {shown['alertname']}")
            for key, values in rules.labels.items():
                if labels.get(key) in values:
                    score += SCORE_LABEL
                    reasons.append(f"label {key}={shown[key]}")
            strong = score > 0
            named = [s for s in rules.services if _has_words(s, words, phrase)]
            score += SCORE_SERVICE_IN_TITLE * len(named)
            hits = [k for k in rules.keywords if k not in named and _has_words(k, words, phrase)]
            score += SCORE_KEYWORD * len(hits)
            if named or hits:
                reasons.append("words " + ", ".join(f"“{w}”" for w in named + hits))
            if score:
                found.append(Suggestion(rb, score, tuple(reasons), strong))
        found.sort(key=lambda s: (-s.score, s.runbook.title.lower()))
        return found

    def match(self, incident: Incident) -> RunbookMatch:
        """The runbook for an incident: its own symptom if set, else the best suggestion."""
        key = (
            incident.symptom,
            incident.title,
            incident.services,
            tuple(sorted(incident.labels.items())),
            incident.impact,
        )
        cached = self._match_cache.get(key)
        if cached is not None:
            return cached
        suggestions = tuple(
            self.suggest(
                title=incident.title, services=incident.services, labels=incident.labels, impact=incident.impact
            )
        )
        chosen = self.runbooks.get(incident.symptom) if incident.symptom else None
        if chosen is not None and not chosen.is_process:
            result = RunbookMatch(chosen, True, ("chosen for this incident",), suggestions)
        elif suggestions:
            best = suggestions[0]
            result = RunbookMatch(best.runbook, False, best.reasons, suggestions, missing=incident.symptom)
        else:
            result = RunbookMatch(None, False, (), (), missing=incident.symptom)
        if len(self._match_cache) > 4096:
            self._match_cache.clear()
        self._match_cache[key] = result
        return result

    def progress(self, incident: Incident, counts: dict[tuple[int, str], int]) -> Progress | None:
        """Ticked/total steps of the incident's runbook; `counts` is `Desk.checked_counts()`."""
        rb = self.match(incident).runbook
        if rb is None:
            return None
        return Progress(rb.id, min(counts.get((incident.number, rb.id), 0), rb.step_count), rb.step_count)

    # --- search ---

    def search(self, query: str) -> list[SearchHit]:
        """Runbooks holding every word of the query anywhere (title, symptoms, causes, steps,
        match rules), ranked by where the words are; an empty query lists them all."""
        terms = query.lower().split()
        hits: list[SearchHit] = []
        for rb in self.runbooks.values():
            if not all(t in rb.search_text for t in terms):
                continue
            score = 0
            for t in terms:
                score += 8 if t in rb.title.lower() else 0
                score += 4 if t in rb.id else 0
                score += 3 if any(t in s.lower() for s in rb.symptoms + rb.causes) else 0
                score += 1
            hits.append(SearchHit(rb, score, _excerpt(rb, terms)))
        if terms:
            hits.sort(key=lambda h: (-h.score, h.runbook.title.lower()))
        return hits


def _folded(rules: MatchRules) -> MatchRules:
    """The rules in lower case, for comparing: authors write `IdentityServiceDown`, alerts may not."""
    return MatchRules(
        services=tuple(s.lower() for s in rules.services),
        alertnames=tuple(a.lower() for a in rules.alertnames),
        labels={k: tuple(v.lower() for v in values) for k, values in rules.labels.items()},
        keywords=tuple(k.lower() for k in rules.keywords),
    )


def _has_words(term: str, words: set[str], phrase: str) -> bool:
    parts = _WORD.findall(term)
    if len(parts) == 1:
        return parts[0] in words
    return bool(parts) and f" {' '.join(parts)} " in f" {phrase} "


def _excerpt(rb: Runbook, terms: list[str]) -> str:
    if not terms:
        return rb.symptoms[0] if rb.symptoms else (rb.sections[0].title if rb.sections else "")
    candidates = [*rb.symptoms, *rb.causes, *(s.headline for s in rb.steps), *(s.title for s in rb.sections)]
    for line in candidates:
        if any(t in line.lower() for t in terms):
            return line
    return rb.symptoms[0] if rb.symptoms else ""
