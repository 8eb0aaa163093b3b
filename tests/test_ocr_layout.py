"""Reading order of OCR'd pages (`ingest.ocr_layout`), on word boxes laid out as Tesseract reports them: columns of
prose are read one after the other, tables row by row, and vertical or stray marks are left out."""

from __future__ import annotations

from ingest.ocr_layout import Word, page_text, parse_tsv

HEIGHT, CHAR, SPACE = 30, 18, 12


def line(text: str, left: int, top: int, key: tuple[int, int, int]) -> list[Word]:
    """The words of `text` set on one line from `left`, as Tesseract boxes them."""
    words = []
    for word in text.split():
        words.append(Word(left, top, left + CHAR * len(word), top + HEIGHT, word, 95.0, key))
        left += CHAR * len(word) + SPACE
    return words


def column(lines: list[str], left: int, top: int, block: int) -> list[Word]:
    return [w for n, text in enumerate(lines) for w in line(text, left, top + 50 * n, (block, 1, n + 1))]


LEFT = [f"left column line {n} of the page with words enough to read" for n in range(8)]
RIGHT = [f"right column line {n} of the page goes on after it here" for n in range(8)]


def test_two_columns_of_prose_are_read_one_after_the_other() -> None:
    words = column(LEFT, 100, 100, 1) + column(RIGHT, 1250, 100, 2)  # lines side by side, at the same heights
    assert page_text(words).split("\n") == [*LEFT, *RIGHT]


def test_a_table_keeps_its_rows_whole() -> None:
    rows = [("Method", "Physics", "Chemistry"), ("PaLM-2L", "66.4%", "70.9%"), ("GPT-4", "70.3%", "79.9%")]
    rows += [("PaLM-2L + CoT", "65%", "75.3%"), ("Step-Back (ours)", "73.2%", "81.8%")]
    words = []
    for n, cells in enumerate(rows):  # Tesseract often puts each column in a block of its own
        for block, (cell, left) in enumerate(zip(cells, (100, 900, 1500), strict=True), start=1):
            words += line(cell, left, 100 + 50 * n, (block, 1, n + 1))
    assert page_text(words).split("\n") == [" ".join(cells) for cells in rows]


def test_a_table_set_apart_under_two_columns_keeps_its_rows() -> None:
    words = column(LEFT[:4], 100, 100, 1) + column(RIGHT[:4], 1250, 100, 2)
    rows = [("Station", "Trains", "Minutes"), ("Valley", "12", "40"), ("Summit", "4", "95")]
    for n, cells in enumerate(rows):  # its middle gap lies where the columns' gutter is
        for block, (cell, left) in enumerate(zip(cells, (300, 900, 1500), strict=True), start=3):
            words += line(cell, left, 500 + 50 * n, (block, 1, n + 1))
    assert page_text(words).split("\n")[-3:] == ["Station Trains Minutes", "Valley 12 40", "Summit 4 95"]


def test_a_column_of_labels_beside_their_text_is_read_row_by_row() -> None:
    text = [f"The word triggers event number {n} when it is read in a sentence of" for n in range(6)]
    words = column(text, 700, 100, 2)
    words += line("Life.Marry", 100, 100, (1, 1, 1)) + line("Justice.Sue", 100, 200, (1, 2, 1))
    words += line("Conflict.Attack", 100, 300, (1, 3, 1))
    lines = [row for row in page_text(words).split("\n") if row]
    assert lines[0] == f"Life.Marry {text[0]}" and lines[2] == f"Justice.Sue {text[2]}"
    assert lines[4] == f"Conflict.Attack {text[4]}" and lines[5] == text[5]


def test_vertical_words_rules_and_specks_are_left_out() -> None:
    words = column(LEFT[:3], 100, 100, 1)
    words.append(Word(2300, 100, 2320, 400, "pepeojumog", 55.0, (9, 1, 1)))  # "Downloaded" set up the margin
    words.append(Word(2300, 410, 2320, 435, "uo", 80.0, (9, 1, 1)))  # and "on", below it in the same strip
    words.append(Word(1050, 100, 1060, 130, "|", 90.0, (1, 1, 1)))  # a table rule
    words.append(Word(1100, 150, 1130, 180, "°”*", 10.0, (1, 1, 2)))  # a speck of a figure
    assert page_text(words).split("\n") == LEFT[:3]


def test_chinese_characters_are_joined_without_spaces() -> None:
    words = [Word(100 + 40 * n, 100, 130 + 40 * n, 130, c, 90.0, (1, 1, 1)) for n, c in enumerate("年假天数")]
    words += line("2024 年", 300, 100, (1, 1, 1))
    assert page_text(words) == "年假天数 2024 年"


def test_tesseract_tsv_is_parsed() -> None:
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "1\t1\t0\t0\t0\t0\t0\t0\t2550\t3300\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t100\t120\t90\t30\t96.5\tHello\n"
        "5\t1\t1\t1\t1\t2\t200\t120\t110\t30\t95.1\tworld.\n"
        "5\t1\t1\t1\t1\t3\t320\t120\t10\t30\t95.1\t \n"
    )
    words = parse_tsv(tsv)
    assert [w.text for w in words] == ["Hello", "world."]
    assert words[0] == Word(100, 120, 190, 150, "Hello", 96.5, (1, 1, 1))
    assert page_text(words) == "Hello world."
