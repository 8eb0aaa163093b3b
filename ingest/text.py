"""Text hygiene: decoding bytes of unknown encoding and cleaning what extractors return."""

from __future__ import annotations

import codecs
import re

from .errors import DocumentError

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: What a wrong guess leaves behind: replacement characters, C0 and C1 controls, private-use characters.
_GARBAGE = re.compile(r"[\ufffd\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f-\x9f\ue000-\uf8ff]")
#: Bytes the detector reads: enough to be sure, bounded (it runs in the parsing worker, under a memory cap).
DETECTION_SAMPLE = 256 * 1024
#: Share of garbage characters above which a decoding is refused rather than indexed as mojibake.
MAX_GARBAGE = 0.02
#: Names people know for Python's codec names (Windows code pages are named `Windows-NNNN`).
_LABELS = {
    "cp932": "Shift-JIS", "shift_jis": "Shift-JIS", "euc_jp": "EUC-JP", "gb18030": "GB18030", "gb2312": "GB2312",
    "gbk": "GBK", "big5": "Big5", "big5hkscs": "Big5-HKSCS", "cp949": "EUC-KR", "euc_kr": "EUC-KR",
    "euc_jis_2004": "EUC-JP", "koi8-r": "KOI8-R", "koi8-u": "KOI8-U", "iso8859-1": "Latin-1",
}  # fmt: skip
_UNRECOGNISED = (
    "the text encoding could not be recognised: it is not UTF-8 and no common encoding reads it cleanly. "
    "Save the file as UTF-8 and add it again."
)


def decode_text(data: bytes, source: str = "") -> tuple[str, list[str]]:
    """Decode text whatever its encoding: a byte-order mark, then UTF-8, then the encoding charset-normalizer
    recognises (Windows-1252 when Western code pages read it alike). Binary content and bytes no encoding reads
    cleanly are refused rather than indexed as mojibake. Returns the text and what the reader should know."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding), []
            except UnicodeDecodeError as exc:
                raise DocumentError(
                    source, f"starts with a {encoding} byte-order mark but is not valid {encoding}."
                ) from exc
    sample = data[:65536]
    controls = sum(sample.count(bytes([c])) for c in (*range(0, 8), *range(14, 27), *range(28, 32)))
    if b"\x00" in sample or controls > len(sample) // 20:
        raise DocumentError(source, "the content is binary, not text (or UTF-16 without a byte-order mark).")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    mostly_utf8 = _mostly_utf8(data)
    if mostly_utf8 is not None:
        return mostly_utf8
    encoding = _detect(data, source)
    text = data.decode(encoding, errors="replace")
    if len(_GARBAGE.findall(text)) > len(text) * MAX_GARBAGE:
        raise DocumentError(source, _UNRECOGNISED)
    return text, [f"not UTF-8; read as {_label(encoding)}"]


def _mostly_utf8(data: bytes) -> tuple[str, list[str]] | None:
    """UTF-8 with a few broken bytes (a bad copy, two files joined): the text, with those bytes replaced.
    In text of another encoding, hardly any non-ASCII run happens to be valid UTF-8."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    if sum(1 for ch in text if ord(ch) > 0x7F) - broken >= 4 * broken:
        return text, [f"{broken} bytes that are not valid UTF-8 were replaced"]
    return None


def _detect(data: bytes, source: str) -> str:
    """The encoding charset-normalizer recognises in the file's first bytes; DocumentError when none fits."""
    from charset_normalizer import from_bytes
    from charset_normalizer.constant import IANA_SUPPORTED
    from charset_normalizer.utils import is_multi_byte_encoding

    sample = data[:DETECTION_SAMPLE]
    if len(data) > DETECTION_SAMPLE:  # cut after a line end or space, so no multi-byte character is split
        cut = max(sample.rfind(b"\n", DETECTION_SAMPLE // 2), sample.rfind(b" ", DETECTION_SAMPLE // 2))
        sample = sample[: cut + 1] if cut > 0 else sample
    matches = [m for m in from_bytes(sample) if not m.encoding.startswith(("utf_16", "utf_32"))]
    if matches and is_multi_byte_encoding(matches[0].encoding):
        # A multi-byte reading makes charset-normalizer skip single-byte code pages, and a few accented letters
        # in Latin-1 can pass for Korean or Chinese: weigh the single-byte readings too.
        multi_byte = [e for e in IANA_SUPPORTED if is_multi_byte_encoding(e)]
        matches += from_bytes(sample, cp_exclusion=multi_byte)
    if not matches:
        return _fallback(sample, source)
    best = min(matches, key=lambda m: m.chaos)
    tied = [m for m in matches if m.chaos <= best.chaos + 0.01]
    # Code pages often read a text equally well by its measures (French `à` is Czech `ŕ`; a German `ü` is a
    # Lithuanian `³`; in a short text even Urdu fits): the reading whose letters one language uses wins, then
    # Windows-1252, then the more coherent.
    winner = max(
        tied, key=lambda m: (round(_alphabet_fit(str(m)), 2), "cp1252" in m.could_be_from_charset, m.coherence)
    )
    return "cp1252" if "cp1252" in winner.could_be_from_charset else winner.encoding


def _fallback(sample: bytes, source: str) -> str:
    """charset-normalizer gives up on some short texts that mix scripts (`28.5°E轨道`): the common East Asian
    encoding that reads them strictly as that language, or DocumentError."""
    from charset_normalizer.cd import coherence_ratio

    readings = []
    for encoding, language in (("gb18030", "Chinese"), ("cp932", "Japanese"), ("cp949", "Korean"), ("big5", "Chinese")):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        readings += [(ratio, encoding) for found, ratio in coherence_ratio(text) if found == language]
    if not readings or max(readings)[0] < 0.2:
        raise DocumentError(source, _UNRECOGNISED)
    return max(readings)[1]


#: The non-ASCII letters of languages (Latin script: the accented ones).
_ALPHABETS = [
    "àâæçéèêëîïôœùûüÿ", "äöüß", "áéíñóúü", "áâãàçéêíóôõú", "àèéìíîòóùú", "áéèëïóöü", "åäöé", "æøåé", "áðéíóúýþæö",
    "äöå", "àçèéíïòóúü", "áčďéěíňóřšťúůýž", "áäčďéíĺľňóôŕšťúýž", "ąćęłńóśźż", "áéíóöőúüű", "čšž", "čćđšž", "ăâîșțşţ",
    "çğıöşü", "ąčęėįšųūž", "āčēģīķļņšūž", "äöõüšž", "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώςϊϋΐΰ",
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґўјљњћђџѓќѕ", "אבגדהוזחטיכלמנסעפצקרשתךםןףץ",
    "ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىيپچژکگی",
]  # fmt: skip


#: Punctuation those languages' texts use, and symbols, which stand apart from letters (`³` inside a word is a
#: misread `ü`).
_PUNCTUATION = "\u00a0–—‘’‚“”„…•«»·"
_SYMBOLS = "µ±°€£¥§©®™½¼¾×÷²³¹¢¶¿¡‰†‡"


_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff01-\uff5e]")


def _alphabet_fit(text: str) -> float:
    """The share of the text's non-ASCII characters that the best-fitting language uses."""
    text = text[:20_000].lower()
    wanted = [i for i, ch in enumerate(text) if ord(ch) > 0x7F and not ch.isspace()]
    if not wanted:
        return 0.0
    symbols = sum(
        1
        for i in wanted
        if text[i] in _PUNCTUATION
        or (text[i] in _SYMBOLS and not (text[i - 1 : i].isalpha() and text[i + 1 : i + 2].isalpha()))
    )
    letters = [text[i] for i in wanted if text[i].isalpha()]
    fits = [sum(1 for ch in letters if ch in alphabet) for alphabet in _ALPHABETS]
    fits.append(sum(1 for ch in letters if _CJK.match(ch)))
    return (symbols + max(fits)) / len(wanted)


def _label(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    if name.startswith("cp12"):
        return f"Windows-{name[2:]}"
    return _LABELS.get(name, name.upper())


def clean_text(text: str) -> str:
    """Drop control characters and trailing spaces, and collapse runs of blank lines."""
    text = _CONTROL_CHARS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    # Line by line, not with `[ \t]+\n`: that pattern is quadratic on a long run of blanks with no newline after it.
    text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
