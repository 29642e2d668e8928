"""What a model's own files say it was trained on: the datasets its card, notes and training code name, and the
prompts it was trained or sampled with (`declared_prompts`).

A declaration, as a declared base model is one: the readout and the experts read what it was trained on from the
weights; this reads what its author wrote. Sources, in order: the card's YAML `datasets`, the sentence diffusers'
training scripts write into the cards they make ("… fine-tuned on the lambdalabs/naruto-blip-captions dataset"),
the same said by hand (`trained on "org/name"`, quoted, or followed by "dataset"; `Dataset: org/name`) and links
to a dataset's Hub page (`https://huggingface.co/datasets/emotion`), then the training code, configs and notes
`inspect` read (`load_dataset("dair-ai/emotion")`, `--dataset_name=…`, `DATASET_NAME="…"`, `train_dataset: …`,
links, and the entries of an axolotl config's `datasets:` list, in a card too). Hub ids only (`org/name`, or a
bare name inside `load_dataset` or a link), never a local path, a loader for local files
(`load_dataset("imagefolder", …)`) or a model the registry knows (`trained on "runwayml/stable-diffusion-v1-5"`
names the base, not the data); and well-known datasets a card or note names in words ("the IMDB dataset":
`hfprobe/data/datasets.json`), as their Hub ids.

>>> declared_datasets({"README.md": "---\\ndatasets: [imdb]\\n---\\nThese are LoRA adaption weights for x. The "
...                    "weights were fine-tuned on the lambdalabs/naruto-blip-captions dataset."})
[{'id': 'imdb', 'source': 'README.md datasets'}, {'id': 'lambdalabs/naruto-blip-captions', 'source': 'README.md'}]
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from importlib import resources

from .card_yaml import card_metadata
from .registry import roots

MAX_DATASETS = 5
MAX_PROSE_CHARS = 256 * 1024  # of a card or note searched for well-known datasets' names
_ID = r"[A-Za-z0-9][\w.-]{0,95}"
_Q, _EQ = "[`\"'\u201c\u2018]", "[`\"'\u201d\u2019]"  # an opening and a closing quote or backtick
# "trained on" / "fine-tuned on" an id that is quoted or called a dataset (diffusers' cards: "The weights were
# fine-tuned on the lambdalabs/naruto-blip-captions dataset"); a bare id there may as well be the base model
# (these patterns start with a literal and what must come before it is checked apart, `_preceded`: a leading
# alternation, `\b` or lookbehind under re.I makes re try every position of a text, three to ten times slower)
_CARD_PROSE = re.compile(rf"ed\s+on\s+(?:the\s+)?{_Q}({_ID}/{_ID}){_EQ}", re.I)  # after "trained" or "fine-tuned"
_TRAINED_WORD = re.compile(r"(?:trained|fine-?tuned)\Z", re.I)
# an id called a dataset after "on", whatever came before: diffusers' "fine-tuned on the X dataset", the Trainer's
# "This model is a fine-tuned version of M on the org/name dataset."
_ON_DATASET = re.compile(rf"on\s+(?:the\s+)?{_Q}?({_ID}/{_ID}){_EQ}?\s+dataset\b", re.I)
_LABELLED = re.compile(rf"datasets?\s*[:=]\s*{_Q}?({_ID}/{_ID})(?![\w/-])", re.I)  # `Dataset: org/name`
_HUB_URL = re.compile(rf"huggingface\.co/datasets/({_ID}(?:/{_ID})?)(?![\w.-])")  # a link to the dataset's page
_LOAD = re.compile(rf"""load_dataset\(\s*(?:path\s*=\s*)?["']({_ID}(?:/{_ID})?)["']""")
_NAMED = re.compile(rf"""(?:dataset[_-]name|DATASET_NAME)\b["']?\s*[=:]?\s*["']?({_ID}/{_ID})""")
# a YAML training config's dataset list (axolotl's, whose cards carry it: `datasets:` then `- path: org/name`), each
# entry a Hub id unless it names a file; `_dataset_paths` reads the entries under a `datasets:` key only
_DATASETS_KEY = re.compile(r"^([ \t]*)(?:test_)?datasets[ \t]*:[ \t]*$", re.M)
_PATH_ENTRY = re.compile(rf"""^[ \t]*-?[ \t]*path[ \t]*:[ \t]*["']?({_ID}/{_ID})["']?[ \t]*$""")
_FILE_SUFFIX = re.compile(r"\.(jsonl?|csv|parquet|txt|arrow|tsv)$", re.I)
# the loaders `datasets` ships for local files: a path follows them, not a dataset
_LOCAL_LOADERS = {"json", "csv", "parquet", "text", "arrow", "pandas", "sql", "imagefolder", "audiofolder",
                  "videofolder", "webdataset", "xml", "generator"}  # fmt: skip


# where prose makes a well-known dataset's name its data: "the IMDB dataset", "**Dataset:** IMDB reviews",
# "fine-tuned on the IMDB reviews for …" (then a full stop or a joining word: not "on emotion classification").
# Each starts with its literal word and the word boundary before it is checked apart: a leading `\b`, or an
# alternation under re.I, makes re try every position of a card, four times slower
_CALLED = re.compile(r"data\s?sets?\b", re.I)
_LABEL = re.compile(r"datasets?\b[*_]*\s*[:=]\s*[*_`]*\s*", re.I)
_TRAINED = (
    re.compile(r"trained\s+(?:\w+\s+){0,3}?on\s+(?:the\s+)?", re.I),
    re.compile(r"fine-?tuned\s+(?:\w+\s+){0,3}?on\s+(?:the\s+)?", re.I),
)
_ENDS = re.compile(r"\s*(?:[.,;:)\]]|$)|\s+(?:and|with|for|using|to|from|by|subset)\b", re.M)
_WORD = re.compile(r"[\w/]+(?:\.[\w/]+)*")  # a name's words ("Food-101": two; "SQuAD v1.1": two)
_GAP = re.compile(r"[\s_-]+\Z")
MAX_NAME_WORDS = 4


@functools.lru_cache(maxsize=1)
def _known_names() -> dict[str, str]:
    """{a well-known dataset's name, normalised: its Hub id} from `hfprobe/data/datasets.json`."""
    data = json.loads(resources.files("hfprobe.data").joinpath("datasets.json").read_text())
    return {_norm(name): entry[0] for entry in data["datasets"] for name in entry[1:]}


def _not_alnum(c: str) -> bool:
    return not c.isalnum()


def _preceded(rx: re.Pattern, text: str, ok=lambda c: not (c.isalnum() or c == "_")):
    """`rx`'s matches in `text` whose preceding character passes `ok` (by default: none, or not a word character;
    the `\b` the pattern leaves out)."""
    return (m for m in rx.finditer(text) if m.start() == 0 or ok(text[m.start() - 1]))


def _prose_datasets(text: str) -> list[str]:
    """The well-known datasets' names `text` calls its data, as written, in order. The phrases are found first and
    the words beside them looked up (a regex of a hundred names tried at every position cost a tenth of inspect)."""
    ids, text = _known_names(), text[:MAX_PROSE_CHARS]
    found = []
    for m in _preceded(_CALLED, text, _not_alnum):  # the words just before "dataset"
        words = list(_WORD.finditer(text, max(0, m.start() - 80), m.start()))[-MAX_NAME_WORDS:]
        if words and text[words[-1].end() : m.start()].isspace():
            for k in range(len(words), 0, -1):
                name = _joined(text, words[-k:])
                if name and _norm(name) in ids:
                    found.append((m.start(), name))
                    break
    for rx, must_end in ((_LABEL, False), (_TRAINED[0], True), (_TRAINED[1], True)):  # after "Dataset:", "trained on"
        for m in _preceded(rx, text, _not_alnum):
            words = []
            for w in _WORD.finditer(text, m.end()):
                if (w.start() != m.end() and not words) or len(words) == MAX_NAME_WORDS:
                    break
                words.append(w)
            for k in range(len(words), 0, -1):
                name = _joined(text, words[:k])
                if name and _norm(name) in ids and (not must_end or _ENDS.match(text, words[k - 1].end())):
                    found.append((m.end(), name))
                    break
    return [name for _, name in sorted(found)]


def _joined(text: str, words: list) -> str | None:
    """The text the words span, where only spaces, '-' or '_' part them."""
    for a, b in zip(words, words[1:], strict=False):
        if b.start() - a.end() > 3 or not _GAP.match(text[a.end() : b.start()]):
            return None
    return text[words[0].start() : words[-1].end()]


def _norm(name: str) -> str:
    return " ".join(re.split(r"[\s_-]+", name.lower().strip()))


def declared_datasets(texts: Mapping[str, str] | None) -> list[dict]:
    """[{id, source}] the model's texts name as its training data, first mention first, at most MAX_DATASETS."""
    found: dict[str, str] = {}
    models = roots()["_alias"]  # ids of models the registry knows, lower-cased
    ids = _known_names()
    seen: set[str] = set()  # each dataset once: `emotion`, its legacy id, is `dair-ai/emotion`

    def add(value, source: str) -> None:
        v = value.strip().rstrip(".") if isinstance(value, str) else ""  # (a sentence's full stop is no part of it)
        key = (v if "/" in v else ids.get(_norm(v), v)).lower()
        if v and v.lower() not in _LOCAL_LOADERS and v.lower() not in models and key not in seen:
            seen.add(key)
            found.setdefault(v, source)

    texts = texts or {}
    readme = next((t for name, t in texts.items() if name.lower() == "readme.md" and t), None)
    if readme:
        card, body, _ = card_metadata(readme)
        listed = card.get("datasets")
        for value in listed if isinstance(listed, list) else [listed]:
            add(value, "README.md datasets")
        prose = (
            m for m in _CARD_PROSE.finditer(body) if _TRAINED_WORD.search(body, max(0, m.start() - 9), m.start() + 2)
        )
        labelled = _preceded(_LABELLED, body, _not_alnum)  # (`train_dataset:` counts)
        for match in (*prose, *_preceded(_ON_DATASET, body), *labelled, *_HUB_URL.finditer(body)):
            add(match[1], "README.md")
        for path in _dataset_paths(body):  # the training config a card carries (axolotl's)
            add(path, "README.md datasets: path")
    for name, text in texts.items():  # a well-known dataset named in words, in the card and notes
        if text and name.lower().endswith(".md"):
            for words in _prose_datasets(text):
                add(ids.get(_norm(words)), f'{name} "{" ".join(words.split())}"')
    for name, text in texts.items():
        if not text or name.lower() == "readme.md":
            continue
        labelled = _preceded(_LABELLED, text, _not_alnum)  # (`train_dataset:` counts)
        for match in (*_LOAD.finditer(text), *_preceded(_NAMED, text), *labelled, *_HUB_URL.finditer(text)):
            add(match[1], name)
        for path in _dataset_paths(text):
            add(path, name)
    return [{"id": i, "source": s} for i, s in list(found.items())[:MAX_DATASETS]]


def _dataset_paths(text: str) -> list[str]:
    """The `path:` of each entry under a YAML `datasets:` key (axolotl's config), Hub ids only; each line is read
    once (a key inside a list already read starts no list of its own).

    >>> _dataset_paths("base_model: x\\ndatasets:\\n  - path: mhenrichsen/alpaca_2k_test\\n    type: alpaca\\n"
    ...                "  - path: data/train.jsonl\\nval_set_size: 0.05\\n")
    ['mhenrichsen/alpaca_2k_test']
    """
    if "datasets" not in text:
        return []
    lines, found, i = text.splitlines(), [], 0
    while i < len(lines):
        key = _DATASETS_KEY.match(lines[i])
        i += 1
        if not key:
            continue
        indent = len(key[1].expandtabs())
        while i < len(lines):
            line = lines[i]
            if line.strip() and len(line) - len(line.lstrip()) <= indent and not line.lstrip().startswith("-"):
                break  # the next key at the list's own level: the list is over
            m = _PATH_ENTRY.match(line)
            if m and not _FILE_SUFFIX.search(m[1]):
                found.append(m[1])
            i += 1
    return found


def datasets_words(datasets: list[dict]) -> str:
    """`dair-ai/emotion (train.py), imdb (README.md datasets)`."""
    return ", ".join(f"{d['id']} ({d['source']})" for d in datasets)


MAX_PROMPTS, MAX_PROMPT_CHARS, MAX_TAGS = 3, 200, 8
# the prompt a DreamBooth run trains on and the one it samples with, as diffusers' scripts take them
# (`--instance_prompt="a photo of sks dog"`, `INSTANCE_PROMPT=…`, YAML `instance_prompt: …`); `$VAR` is no prompt
_PROMPT_KEYS = "instance_prompt|validation_prompt"
_QUOTED = r"""(?:"([^"\n]{1,400})"|'([^'\n]{1,400})')"""
_PROMPT_ARGS = (
    (
        "--",
        re.compile(rf"""--({_PROMPT_KEYS})(?:[ \t]*=[ \t]*|[ \t]+)(?:{_QUOTED}|([^\s"'$\\][^\s\\]{{0,399}}))""", re.I),
    ),
    # Python or shell, quoted; `_prompt` first, the key's word before it checked apart (`_prompt_args`)
    ("", re.compile(rf"""(_prompt)[ \t]*=[ \t]*{_QUOTED}""", re.I)),
    ("", re.compile(rf"""^[ \t]*({_PROMPT_KEYS})[ \t]*:[ \t]*(?:{_QUOTED}|([^\s#"'][^\n#]{{0,399}}))""", re.I | re.M)),
)

# the "Trigger words" sentence the Hub's LoRA card template writes (diffusers' DreamBooth scripts, ai-toolkit and
# trainers built on them): "You should use `TOK style` to trigger the image generation." (no prompt set: "None")
_TRIGGER = re.compile(r"You should use[ \t]+(`?)([^`\n]{1,200}?)\1[ \t]+to trigger the image generation", re.I)


def declared_prompts(texts: Mapping[str, str] | None, metadata: Mapping[str, str] | None = None) -> list[dict]:
    """[{text, source}]: the prompts a model's files say it was trained or sampled with (its card's `instance_prompt`
    and `widget` prompts, its "Trigger words" sentence, a training command's or config's), the trigger phrase an
    sd-scripts header records (`modelspec.trigger_phrase`), and the caption tags kohya counted (`ss_tag_frequency`,
    or `tag_frequency` and the subsets' `class_tokens` in `ss_datasets`), most frequent first; at most MAX_PROMPTS,
    each cut to MAX_PROMPT_CHARS.

    >>> declared_prompts({"train.sh": '--instance_prompt="a photo of sks dog" --validation_prompt=$VAL'})
    [{'text': 'a photo of sks dog', 'source': 'train.sh --instance_prompt'}]
    >>> declared_prompts({}, {"ss_tag_frequency": '{"10_cat": {"cat": 12, "sitting": 3, "grass": 4}}'})[1]
    {'text': 'cat, grass, sitting', 'source': 'header ss_tag_frequency'}
    """
    found: dict[str, str] = {}

    def add(value, source: str) -> None:
        text = " ".join(value.split())[:MAX_PROMPT_CHARS] if isinstance(value, str) else ""
        if text and len(found) < MAX_PROMPTS:
            found.setdefault(text, source)

    for name, text in (texts or {}).items():
        if not text:
            continue
        if name.lower() == "readme.md":
            card = card_metadata(text)[0]
            add(card.get("instance_prompt"), "README.md instance_prompt")
            widget = card.get("widget")  # the Hub's inference widget: the prompts the card shows images of
            for entry in widget[:MAX_PROMPTS] if isinstance(widget, list) else []:
                add(entry.get("text") if isinstance(entry, dict) else None, "README.md widget")
        for key, value, dashes in _prompt_args(text):
            add(value, f"{name} {dashes}{key}")
        if name.lower().endswith(".md"):
            for m in _TRIGGER.finditer(text):
                add(None if m[2].strip() == "None" else m[2], f"{name} trigger words")
    add((metadata or {}).get("modelspec.trigger_phrase"), "header modelspec.trigger_phrase")  # sd-scripts' trigger
    for tokens, tags, token_source, tag_source in _kohya_counts(metadata or {}):
        add(tokens, token_source)
        add(", ".join(t for t, _ in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TAGS]), tag_source)
    return [{"text": t, "source": s} for t, s in found.items()]


_PROMPT_WORD = re.compile(r"(?<![\w.-])(?:instance|validation)\Z", re.I)


def _prompt_args(text: str):
    """(key, prompt, dashes) for each `_PROMPT_ARGS` match; an assignment's key is the word before `_prompt`."""
    for dashes, rx in _PROMPT_ARGS:
        for m in rx.finditer(text):
            key = m[1].lower()
            if key == "_prompt":
                word = _PROMPT_WORD.search(text, max(0, m.start() - 11), m.start())
                if not word:
                    continue
                key = word[0].lower() + key
            yield key, next((g for g in m.groups()[1:] if g), None), dashes


# kohya's image folders are named `<repeats>_<token> <class>` ("10_sks woman"): the DreamBooth subject
_KOHYA_FOLDER = re.compile(r"\d{1,6}_(\S.{0,199})")


def _kohya_counts(metadata: Mapping[str, str]) -> list[tuple[str, dict[str, int], str, str]]:
    """(class tokens, {tag: count} summed over image folders, tokens' source, tags' source) from a kohya header's
    training record. The class tokens are its subsets' `class_tokens`, else its image folders' names (the folders
    `tag_frequency` or `ss_dataset_dirs` counts) less their repeat counts."""
    out = []
    for key in ("ss_datasets", "ss_tag_frequency", "ss_dataset_dirs"):
        raw = metadata.get(key)
        if not isinstance(raw, str) or len(raw) > 4_000_000:
            continue
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if key == "ss_datasets" and isinstance(value, list):
            records = value
        else:
            records = [{"tag_frequency": value} if key == "ss_tag_frequency" else {"dirs": value}]
        for rec in records[:16]:
            if not isinstance(rec, dict):
                continue
            tags: dict[str, int] = {}
            folders = rec.get("tag_frequency")
            for counts in folders.values() if isinstance(folders, dict) else []:
                for tag, n in counts.items() if isinstance(counts, dict) else []:
                    if isinstance(tag, str) and isinstance(n, int) and tag.strip():
                        tags[tag.strip()] = tags.get(tag.strip(), 0) + n
            subsets = rec.get("subsets") if isinstance(rec.get("subsets"), list) else []
            named = [s.get("class_tokens") for s in subsets[:16] if isinstance(s, dict)]
            where = f"header {key}" + (" class_tokens" if key == "ss_datasets" else "")
            if not any(isinstance(t, str) and t.strip() for t in named):
                dirs = rec.get("dirs") if isinstance(rec.get("dirs"), dict) else folders
                named = [
                    m[1] for d in list(dirs or {})[:16] if isinstance(d, str) and (m := _KOHYA_FOLDER.fullmatch(d))
                ]
                where = f"header {key} folder names"
            tokens = ", ".join(dict.fromkeys(t.strip() for t in named if isinstance(t, str) and t.strip()))
            if tags or tokens:
                tag_source = f"header {key}" + (" tag_frequency" if key == "ss_datasets" else "")
                out.append((tokens, tags, where, tag_source))
    return out


def prompts_words(prompts: list[dict]) -> str:
    """`"a photo of sks dog" (train.sh --instance_prompt)`."""
    return ", ".join(f'"{p["text"]}" ({p["source"]})' for p in prompts)
