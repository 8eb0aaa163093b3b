"""What a document says it is, read at ingest from its first pages (and its file name when that is all there
is): company or title, form (10-K, 10-Q, 8-K, earnings release), fiscal year and quarter, period end date.
Questions name these ("Corning's FY2020 10-K", "JPM in 2022 Q2"), and retrieval matches them."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from .types import LoadedDocument

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}  # fmt: skip
_DATE = r"([A-Z][a-z]{2,8})\s+(\d{1,2}),?\s+((?:19|20)\d\d)"
_FISCAL_YEAR_END = re.compile(r"(?:fiscal\s+)?year\s+ended\s*:?\s*" + _DATE, re.I)
_QUARTER_END = re.compile(r"(?:quarterly\s+period|quarter|three\s+months)\s+ended\s*:?\s*" + _DATE, re.I)
_FORM = re.compile(r"\bFORM\s+(10\s*-\s*K|10\s*-\s*Q|8\s*-\s*K|20\s*-\s*F|6\s*-\s*K)\b", re.I)
_EARNINGS = re.compile(r"\b(?:earnings|results)\s+(?:press\s+)?release\b|\breports?\s+(?:first|second|third|fourth)"
                       r"[-\s]quarter\b", re.I)  # fmt: skip
_REGISTRANT = re.compile(r"\(\s*exact\s+name\s+of\s+registrant", re.I)
_NAME_FORM = re.compile(r"(?<![A-Za-z0-9])(10-?K|10-?Q|8-?K)(?![A-Za-z0-9])", re.I)
_NAME_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_NAME_QUARTER = re.compile(r"(?<![A-Za-z])Q([1-4])(?![0-9])|(?<!\d)([1-4])Q(?![A-Za-z])", re.I)
#: How much of the opening pages is read: the cover page and what follows it.
_OPENING_CHARS = 6000


def describe(document: LoadedDocument) -> dict[str, Any]:
    """The document's self-description, JSON-safe; keys present only when found: `company`, `form`,
    `fiscal_year`, `fiscal_quarter`, `period_end` (ISO date), `from_name` (facets read from the file name)."""
    opening = "\n".join(p.text for p in document.pages[:3])[:_OPENING_CHARS]
    about: dict[str, Any] = {}
    form = _FORM.search(opening)
    if form:
        about["form"] = re.sub(r"\s+", "", form.group(1)).upper()
    elif _EARNINGS.search(opening):
        about["form"] = "earnings release"
    year_end, quarter_end = _first_date(_FISCAL_YEAR_END, opening), _first_date(_QUARTER_END, opening)
    if about.get("form") == "10-Q" and quarter_end:
        about["period_end"] = quarter_end.isoformat()
    elif year_end and about.get("form") != "10-Q":
        about["period_end"] = year_end.isoformat()
        about["fiscal_year"] = year_end.year
    elif quarter_end:
        about["period_end"] = quarter_end.isoformat()
    company = _registrant(opening)
    if company:
        about["company"] = company
    if "form" in about or _NAME_FORM.search(Path(document.source).stem):  # a filing: its name describes it too
        _from_name(about, Path(document.source).stem)
    if "fiscal_year" not in about and "period_end" in about:
        about["fiscal_year"] = int(about["period_end"][:4])
    return about


def _from_name(about: dict[str, Any], stem: str) -> None:
    """Facets a file name states (`JPMORGAN_2021Q1_10Q`, `2023 Q1 MSFT`) where the content did not: a fiscal
    quarter in a name is the one people use (Microsoft's Q1 2023 ends in September 2022)."""
    found: list[str] = []
    form = _NAME_FORM.search(stem)
    if form and "form" not in about:
        about["form"] = form.group(1).upper().replace("K", "-K").replace("Q", "-Q").replace("--", "-")
        found.append("form")
    quarter = _NAME_QUARTER.search(stem)
    if quarter:
        about["fiscal_quarter"] = int(quarter.group(1) or quarter.group(2))
        found.append("fiscal_quarter")
    year = _NAME_YEAR.search(stem)
    if year and ("fiscal_year" not in about or quarter):
        about["fiscal_year"] = int(year.group(1))
        found.append("fiscal_year")
    if "company" not in about:
        words = [w for w in re.split(r"[\s_.-]+", stem) if w and not _NAME_FORM.fullmatch(w)]
        words = [w for w in words if not re.fullmatch(r"(?:19|20)\d\d(?:Q[1-4])?|Q[1-4]|[1-4]Q", w, re.I)]
        if words:
            about["company"] = " ".join(words)
            found.append("company")
    if found:
        about["from_name"] = found


def _first_date(pattern: re.Pattern[str], text: str) -> date | None:
    for match in pattern.finditer(text):
        month = _MONTHS.get(match.group(1).lower())
        if month:
            try:
                return date(int(match.group(3)), month, int(match.group(2)))
            except ValueError:
                continue
    return None


def _registrant(opening: str) -> str | None:
    """The registrant's name as the cover page prints it: the line above "(Exact name of registrant ...)"."""
    match = _REGISTRANT.search(opening)
    if not match:
        return None
    lines = [line.strip() for line in opening[: match.start()].split("\n") if line.strip()]
    while lines and re.fullmatch(r"[\d\s\-().:#]*|commission file number.*", lines[-1], re.I):
        lines.pop()
    name = lines[-1] if lines else ""
    if len(lines) > 1 and len(name) <= 6:  # `SQUARE,` / `INC.` printed on two lines
        name = f"{lines[-2]} {name}"
    if not name or len(name) > 80 or re.search(r"\b(?:for the|transition|period|pursuant)\b", name, re.I):
        return None
    return " ".join(name.split())


def facets_text(about: dict[str, Any]) -> str:
    """The self-description as words a question may use: `Corning 10-K annual report FY2020 2020`."""
    words = [str(about.get("company", ""))]
    form = about.get("form")
    if form:
        words += [form, {"10-K": "annual report", "10-Q": "quarterly report"}.get(form, "")]
    if about.get("fiscal_year"):
        year = about["fiscal_year"]
        words += [f"FY{year}", str(year)]
        if about.get("fiscal_quarter"):
            words += [f"Q{about['fiscal_quarter']}", f"{year}Q{about['fiscal_quarter']}"]
    return " ".join(w for w in words if w)


def summary(about: dict[str, Any]) -> str:
    """One line for people: `CORNING INCORPORATED · 10-K · FY2020` or `JPMorgan Chase & Co. · 10-Q · 2021 Q1`."""
    year, quarter = about.get("fiscal_year"), about.get("fiscal_quarter")
    period = f"{year} Q{quarter}" if year and quarter else f"FY{year}" if year else ""
    return " · ".join(str(p) for p in (about.get("company"), about.get("form"), period) if p)


#: What people may correct of a self-description, with the label it is shown under, in that order.
EDITABLE = {
    "company": "Company or title",
    "form": "Form",
    "fiscal_year": "Fiscal year",
    "fiscal_quarter": "Fiscal quarter",
    "period_end": "Period end",
}
_FORM_NAME = re.compile(r"(10|8|20|6)\s*-?\s*([KQF])", re.I)
#: Characters no name needs: control characters and the bidirectional overrides that reorder what is shown.
_UNSHOWABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def corrected(about: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`about` with the fields in `changes` (keys of `EDITABLE`) set by a person: each value checked and written
    as `describe` writes it (`10k` becomes `10-K`, `FY2020` 2020, `Q2` 2); an empty value removes the field.
    Fields a person set are listed under `corrected` (a later reading of the same file keeps them, see
    `with_corrections`) and no longer under `from_name`. Raises ValueError saying which value cannot be right."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValueError(f"{', '.join(unknown)} cannot be corrected; only {', '.join(EDITABLE)} can.")
    result = {k: v for k, v in about.items() if k not in changes}
    for key, value in changes.items():
        text = "" if value is None else _UNSHOWABLE.sub("", " ".join(str(value).split()))
        if text:
            result[key] = _checked(key, text)
    marked = sorted(set(about.get("corrected", [])) | set(changes))
    if marked:
        result["corrected"] = marked
    from_name = [f for f in about.get("from_name", []) if f not in changes]
    result.pop("from_name", None)
    if from_name:
        result["from_name"] = from_name
    return result


def _checked(key: str, text: str) -> str | int:
    label = EDITABLE[key].lower()
    if key == "company":
        if len(text) > 200:
            raise ValueError(f"The {label} is too long ({len(text)} characters; at most 200).")
        return text
    if key == "form":
        known = _FORM_NAME.fullmatch(text)
        if known:
            return f"{known.group(1)}-{known.group(2).upper()}"
        if text.lower() == "earnings release":
            return "earnings release"
        if len(text) > 40:
            raise ValueError(f"The form is too long ({len(text)} characters; at most 40).")
        return text
    if key == "fiscal_year":
        year = re.fullmatch(r"(?:FY\s?)?((?:19|20|21)\d\d)", text, re.I)
        if not year:
            raise ValueError(f"The fiscal year must be a year such as 2020, not {text!r}.")
        return int(year.group(1))
    if key == "fiscal_quarter":
        quarter = re.fullmatch(r"Q?([1-4])|([1-4])Q", text, re.I)
        if not quarter:
            raise ValueError(f"The fiscal quarter must be 1, 2, 3 or 4 (or Q1 to Q4), not {text!r}.")
        return int(quarter.group(1) or quarter.group(2))
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"The period end must be a date written as 2020-12-31, not {text!r}.") from None


def with_corrections(about: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    """A fresh self-description of a document (read again: its text cleaning or OCR settings changed) with the
    fields a person corrected in its `earlier` one kept as they set them."""
    fields = earlier.get("corrected") or []
    return corrected(about, {f: earlier.get(f) for f in fields}) if fields else about
