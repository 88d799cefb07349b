"""The English and Simplified Chinese message catalogues say the same things.

Each ``frontend/src/i18n/<page>_en.js`` (and ``en.js``) is an ES module whose default export is an object
literal of ``"key": "text"``; its ``_zh`` twin must have exactly the same keys, no key twice, and the same
``{placeholders}`` in each text. The files are parsed here (no JavaScript runtime needed); anything the
small reader does not understand is reported with its line, never skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

I18N = Path(__file__).resolve().parents[1] / "frontend" / "src" / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
    | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\$]|\\.|\$(?!\{))*`)
    | (?P<name>[A-Za-z_$][\w$]*)
    | (?P<punct>[{}:,;])
    """,
    re.VERBOSE | re.DOTALL,
)
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\n": ""}


def unquote(literal: str) -> str:
    """The value of a JavaScript string literal (the escapes catalogues use: \\n, \\t, \\uXXXX, \\")."""
    body = literal[1:-1]

    def escape(match: re.Match[str]) -> str:
        text = match.group(1)
        if text.startswith("u{"):
            return chr(int(text[2:-1], 16))
        if text.startswith("u"):
            return chr(int(text[1:], 16))
        return ESCAPES.get(text, text)

    return re.sub(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|.)", escape, body, flags=re.DOTALL)


def parse_catalogue(source: str, name: str = "<catalogue>") -> list[tuple[str, str]]:
    """(key, text) pairs of ``export default { ... }``, in order, duplicates kept."""
    tokens: list[tuple[str, str, int]] = []
    position = 0
    while position < len(source):
        match = TOKEN.match(source, position)
        if match is None:
            line = source.count("\n", 0, position) + 1
            raise ValueError(f"{name}:{line}: cannot read {source[position : position + 30]!r}")
        if match.lastgroup != "space":
            tokens.append((match.lastgroup or "", match.group(), source.count("\n", 0, position) + 1))
        position = match.end()

    def expect(index: int, kind: str, text: str | None = None) -> str:
        if index >= len(tokens):
            raise ValueError(f"{name}: ends early, expected {text or kind}")
        token_kind, token_text, line = tokens[index]
        if token_kind != kind or (text is not None and token_text != text):
            raise ValueError(f"{name}:{line}: expected {text or kind}, found {token_text!r}")
        return token_text

    expect(0, "name", "export")
    expect(1, "name", "default")
    expect(2, "punct", "{")
    entries: list[tuple[str, str]] = []
    index = 3
    while tokens[index][1] != "}":
        kind, key, line = tokens[index]
        if kind not in ("string", "name"):
            raise ValueError(f"{name}:{line}: expected a key, found {key!r}")
        expect(index + 1, "punct", ":")
        value = expect(index + 2, "string")
        entries.append((unquote(key) if kind == "string" else key, unquote(value)))
        index += 3
        if tokens[index][1] == ",":
            index += 1
        elif tokens[index][1] != "}":
            raise ValueError(f"{name}:{tokens[index][2]}: expected ',' or '}}', found {tokens[index][1]!r}")
    rest = [text for _, text, _ in tokens[index + 1 :]]
    if rest not in ([], [";"]):
        raise ValueError(f"{name}: unexpected text after the object: {' '.join(rest)[:60]!r}")
    return entries


def catalogue(path: Path) -> dict[str, str]:
    return dict(parse_catalogue(path.read_text(encoding="utf-8"), path.name))


def twin(path: Path, language: str) -> Path:
    stem = re.sub(r"(^|_)(en|zh)$", rf"\g<1>{language}", path.stem)
    return path.with_name(stem + path.suffix)


ENGLISH = sorted(path for path in I18N.glob("*.js") if re.search(r"(^|_)en$", path.stem))
CHINESE = sorted(path for path in I18N.glob("*.js") if re.search(r"(^|_)zh$", path.stem))


def test_every_catalogue_has_its_twin():
    assert I18N / "en.js" in ENGLISH, f"no en.js in {I18N}"
    without_zh = [path.name for path in ENGLISH if twin(path, "zh") not in CHINESE]
    without_en = [path.name for path in CHINESE if twin(path, "en") not in ENGLISH]
    assert not without_zh and not without_en, f"no zh twin: {without_zh}; no en twin: {without_en}"


def missing_keys(english: Path) -> str:
    """Which keys each of the twins lacks, by name ("" when they agree)."""
    chinese = twin(english, "zh")
    en_keys, zh_keys = set(catalogue(english)), set(catalogue(chinese))
    missing = {chinese.name: sorted(en_keys - zh_keys), english.name: sorted(zh_keys - en_keys)}
    return "; ".join(f"{name} lacks {', '.join(keys)}" for name, keys in missing.items() if keys)


@pytest.mark.parametrize("english", ENGLISH, ids=lambda path: path.name)
def test_en_and_zh_have_the_same_keys(english: Path):
    report = missing_keys(english)
    assert not report, report


def test_a_missing_key_is_reported_by_name(tmp_path):
    (tmp_path / "page_en.js").write_text('export default { "a": "A", "b": "B {n}", "c": "C" };')
    (tmp_path / "page_zh.js").write_text('export default { "a": "甲", "d": "丁" };')
    assert missing_keys(tmp_path / "page_en.js") == "page_zh.js lacks b, c; page_en.js lacks d"


@pytest.mark.parametrize("path", ENGLISH + CHINESE, ids=lambda path: path.name)
def test_no_catalogue_repeats_a_key(path: Path):
    keys = [key for key, _ in parse_catalogue(path.read_text(encoding="utf-8"), path.name)]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    assert not repeated, f"{path.name} repeats {', '.join(repeated)} (the last one silently wins)"


@pytest.mark.parametrize("english", ENGLISH, ids=lambda path: path.name)
def test_each_text_keeps_its_placeholders(english: Path):
    en, zh = catalogue(english), catalogue(twin(english, "zh"))
    differing = [
        f"{key}: en {sorted(set(PLACEHOLDER.findall(en[key])))} zh {sorted(set(PLACEHOLDER.findall(zh[key])))}"
        for key in sorted(en.keys() & zh.keys())
        if set(PLACEHOLDER.findall(en[key])) != set(PLACEHOLDER.findall(zh[key]))
    ]
    assert not differing, "; ".join(differing)


def test_the_reader_understands_the_catalogue_syntax_and_rejects_the_rest():
    source = """// comment
    export default {
      "a.b": "one \\"two\\" \\u4e2d",
      plain: 'single {n}',  /* block */
      "tmpl": `back{x}`,
    };
    """
    assert parse_catalogue(source) == [("a.b", 'one "two" 中'), ("plain", "single {n}"), ("tmpl", "back{x}")]
    with pytest.raises(ValueError, match=r":2: expected :"):
        parse_catalogue('export default {\n  "a" "x" }')
    with pytest.raises(ValueError, match=r"cannot read '\+"):
        parse_catalogue('export default { "a": "x" + "y" }')
    with pytest.raises(ValueError, match="expected string"):
        parse_catalogue("export default { a: b }")
