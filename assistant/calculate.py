"""Figures computed, not guessed: the model writes a calculation over figures quoted from the sources, and a safe
evaluator runs it.

The evaluator accepts arithmetic on number literals only (+ - * / and parentheses, unary minus): no names, no
calls, no attributes, no `eval`. Every input figure must be found in a numbered source, which then cites it; the
scale the source states for its figures ("in thousands", "$ in millions", "%") carries through to the result.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass

#: Figures a calculation may use without a source: percent, halves, thirds, quarters, months.
CONSTANTS = frozenset({1.0, 2.0, 3.0, 4.0, 12.0, 100.0, 1000.0})
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_NUMBER = re.compile(r"(?<![\w.])\(?-?\$?\s?\d[\d,]*(?:\.\d+)?\)?%?")
_SCALE = re.compile(r"\b(?:in|\$|€|£)\s*(thousands|millions|billions)\b|\((thousands|millions|billions)\)", re.I)
_EXPRESSION = re.compile(r"[-+*/().\d\s,]+")


class CalculationError(ValueError):
    """The model's calculation is not plain arithmetic over numbers."""


@dataclass(frozen=True, slots=True)
class Figure:
    value: float
    written: str
    source: int | None
    """1-based number of the source that states it; None for a constant such as 100."""
    scale: str = ""


@dataclass(frozen=True, slots=True)
class Calculation:
    formula: str
    result: float
    figures: list[Figure]
    unit: str

    def text(self) -> str:
        """`-22.22 % [1]` then the formula and where each figure comes from."""
        cited = sorted({f.source for f in self.figures if f.source is not None})
        marks = "".join(f"[{n}]" for n in cited)
        answer = f"{_format(self.result)}{(' ' + self.unit) if self.unit else ''} {marks}".strip()
        inputs = ", ".join(
            dict.fromkeys(
                f"{f.written} [{f.source}]" + (f" ({f.scale})" if f.scale else "") for f in self.figures if f.source
            )
        )
        return f"{answer}\n\nCalculation: {self.formula} = {_format(self.result)}" + (
            f", from {inputs}." if inputs else "."
        )


def evaluate(expression: str) -> float:
    """The value of an arithmetic expression over number literals; anything else raises CalculationError."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise CalculationError(f"not an arithmetic expression: {expression!r}") from exc
    return _value(tree.body)


def _value(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _value(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise CalculationError("division by zero")
        return _OPERATORS[type(node.op)](left, right)
    raise CalculationError(f"only numbers and + - * / ( ) are allowed, not {type(node).__name__}")


def parse_formula(reply: str) -> str | None:
    """The calculation in a model's reply: the longest arithmetic run on its first line that has an operator,
    with thousands separators removed (`1,496.5` -> `1496.5`) and the part after `=` dropped."""
    for line in reply.strip().splitlines():
        line = line.strip().strip("`").removeprefix("python").strip()
        if not line:
            continue
        line = line.split("=")[-1] if re.match(r"^\s*\w+\s*=", line) else line.split("=")[0]
        line = line.replace("×", "*").replace("÷", "/").replace("−", "-").replace("$", "").replace("%", "")
        runs = [m.group(0).strip() for m in _EXPRESSION.finditer(line)]
        runs = [r for r in runs if re.search(r"\d", r) and re.search(r"[-+*/]", r.lstrip("-"))]
        if runs:
            return re.sub(r"(?<=\d),(?=\d{3}\b)", "", max(runs, key=len))
    return None


def find_figures(formula: str, texts: list[str]) -> list[Figure]:
    """Each number of the formula with the first source (by number) that states it, and that source's scale."""
    tree = ast.parse(formula, mode="eval")
    literals = [n for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    factors = {  # `/ 2`, `* 100`: a count or a percent, not a figure to look up
        id(side)
        for n in ast.walk(tree)
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div | ast.Mult)
        for side in ((n.right,) if isinstance(n.op, ast.Div) else (n.left, n.right))
        if isinstance(side, ast.Constant) and float(side.value) in CONSTANTS
    }
    stated = [_stated(text) for text in texts]
    figures = []
    for node in sorted(literals, key=lambda n: n.col_offset):
        value = float(node.value)
        written = formula[node.col_offset : node.end_col_offset]
        where = next((i for i, found in enumerate(stated) if any(_same(value, v) for v, _ in found)), None)
        if id(node) in factors or (where is None and value in CONSTANTS):
            figures.append(Figure(value, written, None))
            continue
        if where is None:
            raise CalculationError(f"the figure {written} is not stated in any source")
        as_written = next(w for v, w in stated[where] if _same(value, v))
        figures.append(Figure(value, as_written, where + 1, _scale_of(texts[where])))
    return figures


def calculate(reply: str, texts: list[str], question: str) -> Calculation:
    """The model's reply turned into a checked calculation, or CalculationError saying why it is not one."""
    formula = parse_formula(reply)
    if formula is None:
        raise CalculationError("the reply has no calculation")
    result = evaluate(formula)
    figures = find_figures(formula, texts)
    return Calculation(formula, result, figures, _unit(question, formula, figures))


def _unit(question: str, formula: str, figures: list[Figure]) -> str:
    if re.search(r"\*\s*100\b|\b100\s*\*", formula):  # a share or a change, in percent
        return "%"
    if re.search(r"\b(ratio|proportion|times)\b", question, re.I):
        return ""
    scales = {f.scale for f in figures if f.source is not None}
    return scales.pop() if len(scales) == 1 else ""


def _stated(text: str) -> list[tuple[float, str]]:
    found = []
    for match in _NUMBER.finditer(text):
        written = match.group(0).strip()
        digits = re.sub(r"[^\d.\-]", "", written)
        try:
            found.append((float(digits), written.strip("()")))
        except ValueError:
            continue
    return found


def _same(a: float, b: float) -> bool:
    return abs(abs(a) - abs(b)) <= 1e-9 * max(1.0, abs(a))


def _scale_of(text: str) -> str:
    match = _SCALE.search(text)
    return f"in {(match.group(1) or match.group(2)).lower()}" if match else ""


def _format(value: float) -> str:
    rounded = round(value, 2)
    return f"{rounded:,.2f}".rstrip("0").rstrip(".") if rounded != int(rounded) else f"{int(rounded):,}"
