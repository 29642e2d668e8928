"""What a model's own texts say it is: the names of its classifier's labels (`declared_labels`) and the one line its
card describes it with (`described`).

Declarations, as a declared base model or dataset is one. The weights check the labels: a list counts only when it
names exactly as many labels as the head stored in the weights has outputs, so a README that lists "Positive,
Negative, Neutral" beside a two-output head names no labels (and an explicit label map that disagrees is a note).
Where they are looked for, in order:

- a label file beside the weights or at the source's top (`id2label.json`, `labels.txt`, … `LABEL_FILES`);
- a literal in the card, notes or training code, assigned to a name that says labels or classes
  (`id2label = {0: "sadness", …}`, `LABELS = ["neg", "pos"]`, `"label2id": {…}`, YAML `class_names: [a, b]`), read
  with `ast.literal_eval` (never run);
- in markdown, the list or table under a heading or line that speaks of labels, classes or categories ("classify
  feedback into:" then bullets), and a sentence's list after such words ("labeled with six emotions: sadness,
  joy, …, and surprise").

>>> declared_labels({"train.py": 'id2label = {0: "Normal", 1: "Injection"}'}, 2)
({'labels': ['Normal', 'Injection'], 'source': 'train.py id2label'}, [])
>>> declared_labels({"README.md": "Classify feedback into:\\n- Positive\\n- Negative\\n- Neutral"}, 2)
(None, [])
>>> described({"README.md": "---\\nlicense: mit\\n---\\n# Emotion Classification\\n\\nClassifies text. It is small."})
{'text': 'Emotion Classification: Classifies text.', 'source': 'README.md'}
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping

from .card_yaml import card_metadata, load_yaml

# label files, read beside the weights file, then at the source's top
LABEL_FILES = (
    "id2label.json", "label2id.json", "labels.json", "label_map.json", "label_mapping.json", "classes.json",
    "labels.txt", "classes.txt", "class_names.txt",
)  # fmt: skip
MAX_LABEL_CHARS, MAX_LINE_CHARS, MAX_MARKDOWN_CHARS = 60, 4_000, 256 * 1024
MAX_LITERALS, MAX_LITERAL_CHARS = 32, 20_000  # label literals tried per text, and the characters of each
# a name that holds labels: id2label, label2id, LABELS, class_names, CATEGORIES, EMOTION_LABELS, target_names, …
_LABELLISH = re.compile(r"label|class|categor|target_names|emotions|intents|sentiments", re.I)
_ASSIGN = re.compile(r"""(?<![\w.])["']?([A-Za-z_]\w{0,40})["']?[ \t]*[:=][ \t]*(?=[\[{(])""")
_DEFAULT = re.compile(r"(?:LABEL_)?\d+\Z")  # transformers' LABEL_0 …, or bare indices: no names at all
# markdown: a heading or a line ending in ':' that speaks of the labels, then the list or table under it
_LEAD = re.compile(r"\blabel|\bclass(?:es)?\b|\bcategor|\bkategor|\binto\b", re.I)
_BULLET = re.compile(r"([ \t]*)(?:[-*+]|\d{1,3}[.)])[ \t]+(.+)")
_ITEM_END = re.compile(r"\s+[-\u2013\u2014]\s|:|\s\(")  # "Positive - happy reviews", "joy: …", "neg (0)"
# a sentence's list: "… six core emotions: sadness, joy, love, anger, fear, and surprise."
# (each item starts with a non-space and the spaces are possessive: one way to split a line, so no backtracking blowup)
_ITEM = r"[^,.;:\s][^,.;:\n]{0,39}"
_PROSE = re.compile(rf":[ \t]*+((?:{_ITEM},[ \t]*+){{1,48}}(?:and|or)?[ \t]*+{_ITEM})(?:[.;\n]|\Z)")


def declared_labels(texts: Mapping[str, str] | None, outputs: int | None) -> tuple[dict | None, list[str]]:
    """({labels, source} of the first list of exactly `outputs` label names the texts give, or None; notes on
    explicit label maps (a label file, an `id2label` / `label2id` literal) whose size disagrees with the head)."""
    if not isinstance(outputs, int) or outputs < 2:
        return None, []
    notes: list[str] = []
    for name, text in (texts or {}).items():
        if not isinstance(text, str) or not text:
            continue
        for labels, where, explicit in _candidates(name, text):
            if len(labels) == outputs:
                return {"labels": labels, "source": where}, notes
            if explicit and len(notes) < 3:
                notes.append(f"{where} names {len(labels)} labels; the head in the weights has {outputs} outputs")
    return None, notes


def _candidates(name: str, text: str):
    """(labels, source, explicit) lists a text gives, in the order they are tried."""
    base = name.rsplit("/", 1)[-1].lower()
    if base in LABEL_FILES:
        labels = _file_labels(base, text)
        if labels:
            yield labels, name, True
        return
    tried = 0
    for m in _ASSIGN.finditer(text):
        if not _LABELLISH.search(m[1]):
            continue
        tried += 1
        if tried > MAX_LITERALS:  # (each is read up to MAX_LITERAL_CHARS: a bound on the work per text)
            break
        labels = _as_labels(_literal(text, m.end()))
        if labels:
            yield labels, f"{name} {m[1]}", m[1].lower() in ("id2label", "label2id")
    if base.endswith(".md"):
        for labels in _markdown_lists(text):
            yield labels, f"{name} list", False


def _file_labels(base: str, text: str) -> list[str] | None:
    if base.endswith(".txt"):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return _clean(lines) if 0 < len(lines) <= 10_000 else None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, dict):  # {"id2label": {…}} as a config holds it, or the map itself
        value = next((value[k] for k in ("id2label", "label2id", "labels", "classes") if k in value), value)
    return _as_labels(value)


def _literal(text: str, start: int):
    """The Python literal (list, tuple, dict) starting at `start`, or None: brackets balanced outside strings,
    at most MAX_LITERAL_CHARS, then `ast.literal_eval`; a YAML flow list of bare words as a list."""
    depth, quote, i, end = 0, None, start, min(len(text), start + MAX_LITERAL_CHARS)
    while i < end:
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "[{(":
            depth += 1
        elif c in "]})":
            depth -= 1
            if depth == 0:
                break
        i += 1
    if depth != 0 or i >= end:
        return None
    body = text[start : i + 1]
    try:
        return ast.literal_eval(body)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        pass
    data, problem = load_yaml(body) if body.startswith("[") else (None, "not a list")
    return data if not problem else None


def _as_labels(value) -> list[str] | None:
    """Label names in index order from a list, an {index: name} map, a {name: index} map, or a {name: anything}
    map (its keys, in order: `CATEGORIES = {"Vehicle": "doors, brakes", …}`)."""
    if isinstance(value, list | tuple):
        return _clean(list(value))
    if not isinstance(value, dict) or not value:
        return None
    keys, values = list(value), list(value.values())
    index = [_index(k) for k in keys]
    if all(i is not None for i in index) and sorted(index) == list(range(len(keys))):
        return _clean([value[k] for k in sorted(keys, key=_index)])  # id2label
    index = [_index(v) for v in values]
    if all(i is not None for i in index) and sorted(index) == list(range(len(values))):
        return _clean([k for _, k in sorted(zip(index, keys, strict=True))])  # label2id
    if all(isinstance(k, str) and re.fullmatch(r"LABEL_\d+", k) for k in keys):
        return _as_labels({int(k[6:]): v for k, v in value.items()})
    return _clean(keys)


def _index(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 6 else None


def _clean(items: list) -> list[str] | None:
    """The names, stripped, when each is a short string of its own and they are not all indices; else None."""
    if len(items) < 2 or not all(isinstance(x, str) for x in items):
        return None
    names = [" ".join(x.split()) for x in items]
    if (
        not all(0 < len(n) <= MAX_LABEL_CHARS for n in names)
        or len(set(names)) != len(names)
        or all(_DEFAULT.match(n) for n in names)
    ):
        return None
    return names


def _plain(text: str) -> str:
    """Markdown to words: links to their text, emphasis, code marks and HTML tags gone, spaces collapsed."""
    text = text[:MAX_LINE_CHARS]  # (a long line of '[' would make the link patterns quadratic)
    text = re.sub(r"!\[[^\]\n]{0,300}\]\([^)\n]{0,1000}\)", "", text)  # images
    text = re.sub(r"\[([^\]\n]{0,300})\]\([^)\n]{0,1000}\)", r"\1", text)  # links
    text = re.sub(r"<[^>]{0,200}>", "", text)
    text = re.sub(r"[*`]+|(?<!\w)_+|_+(?!\w)", "", text)
    return " ".join(text.split())


def _markdown_lists(text: str):
    """Lists under a lead-in that speaks of labels: bullets, a table's first column (its second, where the first
    holds 0, 1, …), or the list after a colon in such a sentence."""
    lines = text[:MAX_MARKDOWN_CHARS].splitlines()
    for i, line in enumerate(lines):
        if not _LEAD.search(line[:MAX_LINE_CHARS]):  # (cheap first: most lines speak of no labels)
            continue
        plain = _plain(line)
        if not _LEAD.search(plain):
            continue
        if plain.startswith("#") or plain.endswith(":") or line.lstrip().startswith("#"):
            labels = _list_after(lines, i + 1)
            if labels:
                yield labels
        for m in _PROSE.finditer(plain):
            items = re.split(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", m[1].strip())
            labels = _clean([x.strip() for x in items if x.strip()])
            if labels and all(len(x.split()) <= 3 for x in labels):
                yield labels


def _list_after(lines: list[str], start: int) -> list[str] | None:
    """The bullets (at the first bullet's indent) or table rows right after line `start - 1`, blank lines between
    allowed; None if something else comes first."""
    items: list[str] = []
    rows: list[list[str]] = []
    indent = None
    for line in lines[start : start + 200]:
        if not line.strip():
            if items or rows:
                break
            continue
        bullet = _BULLET.fullmatch(line)
        if bullet and not rows:
            if indent is None:
                indent = bullet[1]
            if bullet[1] != indent:
                continue  # a nested bullet: the label's own description
            items.append(_ITEM_END.split(_plain(bullet[2]), maxsplit=1)[0].strip())
        elif line.lstrip().startswith("|") and not items:
            cells = [_plain(c) for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                rows.append(cells)
        else:
            break
    if rows:
        body = rows[1:]  # under its header row
        if body and all(len(r) > 1 and _index(r[0]) is not None for r in body):
            items = [r[1] for r in body]
        else:
            items = [r[0] for r in body]
    labels = _clean(items)
    return labels if labels and all(len(x.split()) <= 5 for x in labels) else None


MAX_DESCRIPTION_CHARS, MAX_SCAN_LINES, MAX_HEADINGS = 200, 60, 3  # a description comes early or not at all
# what a card template says when nobody filled it in: the Hub's, and the cards trainers write whatever the model
# (Unsloth's "Uploaded model ... trained 2x faster with Unsloth", AutoTrain's, ai-toolkit's and diffusers' trigger line)
_TEMPLATE = re.compile(
    r"model card for|more information needed|provide a (?:quick|longer) summary|this is the model card of"
    r"|automatically generated|use the code below to get started"
    r"|^uploaded +model$|trained 2x faster with unsloth|(?:trained|generated) (?:using|by|with) autotrain"
    r"|^model trained with ai[ -]toolkit|^you should use .{1,80} to trigger the image generation",
    re.I,
)
# section headings, not titles: the sentence under one may still describe the model
_SECTIONS = {
    "about", "contents", "dataset", "demo", "description", "direct use", "downstream use", "evaluation",
    "getting started", "how to get started with the model", "installation", "introduction", "model",
    "model description", "model details", "model sources", "objective", "overview", "project overview",
    "requirements", "results", "setup", "summary", "table of contents", "training data", "training details",
    "training procedure", "usage", "uses",
}  # fmt: skip
_SKIP = re.compile(r"^(?:[|>]|[-*+] |\d{1,3}[.)] |!\[|\[!\[|<|[\u2500-\u257f]|\W*$)")  # tables, lists, images, HTML
_DECOR = re.compile(r"^(?:!\[|\[!\[|<|\W*$)")  # images, badges, HTML, rules: what may stand above a title
_NOTICE = re.compile(r"^[\W_]*?[\u26a0\u26d4\u2757\U0001f6a8\U0001f6d1]")  # ⚠ ⛔ ❗ 🚨 🛑: a notice, not the model
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002])\s+")


def described(texts: Mapping[str, str] | None, metadata: Mapping[str, str] | None = None) -> dict | None:
    """{text, source}: the card's title and the first sentence of the prose under it (a filled-in template's, not
    the template's words), at most MAX_DESCRIPTION_CHARS; None where the card says nothing of its own. Without a
    README.md, the first markdown note `inspect` read (a project report) stands in for the card, and without any,
    the title and description in the weights' header (`metadata`). A line that
    leads into something (ending in ':') ends the search: what follows is an example, not a description."""
    texts = {n: t for n, t in (texts or {}).items() if n.lower().endswith(".md") and isinstance(t, str) and t}
    name = next((n for n in texts if n.lower() == "readme.md"), next(iter(texts), None))  # else a note (raport.md)
    if name is None:
        return _header_description(metadata or {})
    _, body, _ = card_metadata(texts[name])
    body = re.sub(r"<!--.*?-->", "", body[:64_000], flags=re.S)
    body = re.sub(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", "", body, flags=re.S | re.M)  # code blocks
    body = _without_collapsed(body)
    title = sentence = None
    headings, above = 0, False
    for line in [s.strip() for s in body.splitlines() if s.strip()][:MAX_SCAN_LINES]:
        heading = re.fullmatch(r"#{1,6}\s*(.*)", line) or re.fullmatch(r"\*\*([^*]{3,200})\*\*", line)
        text = re.sub(r"^[^\w\"'(\[]+", "", _plain(heading[1] if heading else line))  # (leading emoji, marks)
        headings += bool(heading)
        if headings > MAX_HEADINGS:
            break
        if not text or _TEMPLATE.search(text) or _NOTICE.match(line):
            continue
        if heading:  # the title: the first heading, with nothing but images above it, that names no section
            section = re.sub(r"\s*\[optional\]$|:$", "", text.lower()) in _SECTIONS
            if title is None and not above and not section:
                title = text
            continue
        if text.endswith(":"):
            break
        if _SKIP.match(line) or len(text.split()) < 3 and not re.search(r"[\u3000-\u9fff]", text):
            above = above or not _DECOR.match(line)  # a list, a table, a tree drawing: a heading below is a section
            continue
        sentence = _first_sentence(text).replace(" on the None dataset", "")  # (the Trainer's card: data unknown)
        break
    if sentence and title and sentence.lower().startswith(title.lower()):
        title = None
    words = ": ".join(x for x in (title, sentence) if x)
    if not words:
        return None
    return {"text": _cut(words), "source": name}


def _without_collapsed(body: str) -> str:
    """The card without its collapsed sections (`<details>…</details>`: axolotl's "See axolotl config", a training
    log), which are attachments, not the description; in one pass (an unclosed one is left as it is).

    >>> _without_collapsed("<details><summary>See config</summary>base_model: x</details>\\n# My LoRA")
    '\\n# My LoRA'
    """
    low, out, at = body.lower(), [], 0
    while (start := low.find("<details", at)) != -1 and (end := low.find("</details>", start)) != -1:
        out.append(body[at:start])
        at = end + len("</details>")
    return "".join(out) + body[at:]


def _header_description(metadata: Mapping[str, str]) -> dict | None:
    """A weights file alone (a LoRA downloaded from a model site): the title and description an sd-scripts header
    records (`modelspec.title`, else `ss_output_name`; `modelspec.description`, else `ss_training_comment`)."""
    keys = [next((k for k in ("modelspec.title", "ss_output_name") if _text(metadata.get(k))), None)]
    keys.append(next((k for k in ("modelspec.description", "ss_training_comment") if _text(metadata.get(k))), None))
    words = ": ".join(_text(metadata[k]) for k in keys if k)
    if not words:
        return None
    return {"text": _cut(words), "source": "header " + " ".join(k for k in keys if k)}


def _text(value) -> str:
    return " ".join(_plain(value).split()) if isinstance(value, str) else ""


def _cut(words: str) -> str:
    if len(words) <= MAX_DESCRIPTION_CHARS:
        return words
    return words[: MAX_DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0] + "\u2026"


# diffusers' training scripts open their cards with the base ("These are LoRA adaption weights for
# runwayml/stable-diffusion-v1-5."): the sentence after it says what they were trained on
_BASE_ONLY = re.compile(r"these are .{0,80}\bweights for \S+\Z", re.I)


def _first_sentence(text: str) -> str:
    """Up to the first full stop outside parentheses ("(e.g. …)" does not end a sentence); two sentences where the
    first only names the base."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        head = text[: m.start()]
        if head.count("(") > head.count(")"):
            continue
        if start == 0 and _BASE_ONLY.match(head.rstrip(".")):
            start = m.end()
            continue
        return head
    return text


def described_words(d: dict) -> str:
    """`"Emotion Classification: Classifies text." (README.md)`."""
    return f'"{d["text"]}" ({d["source"]})'
