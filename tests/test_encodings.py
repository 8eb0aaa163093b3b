"""Legacy encodings (red-team finding 10): text in Shift-JIS, GB18030, EUC-KR, Windows-125x, KOI8-R or
ISO-8859-x is read as what it says, not indexed as mojibake; bytes no encoding reads cleanly are refused."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ingest import DocumentError, Settings, collect_sources, ingest, load_bytes, open_index
from ingest.text import DETECTION_SAMPLE, clean_text, decode_text
from tests.conftest import HashEmbedder

# Realistic paragraphs: detectors need more than a few words to tell code pages apart.
PARAGRAPHS = {
    "ja": "従業員は年間27日の有給休暇を取得できます。休暇の申請は、少なくとも二週間前までに上司に提出してください。"
    "病気の場合は、当日の朝九時までに所属部署へ連絡し、三日以上続く場合は医師の診断書を提出する必要があります。",
    "zh": "员工每年享有二十七天带薪年假。请假申请应至少提前两周提交给直属经理。如因病缺勤，应在当天上午九点前通知所在"
    "部门；连续三天以上的病假需提供医生证明。",
    "zh-hant": "每位員工每年享有二十七天帶薪年假。請假申請應至少提前兩週提交給直屬經理。如因病缺勤，應在當天上午九點前"
    "通知所在部門；連續三天以上的病假需提供醫生證明。",
    "ko": "직원은 매년 27일의 유급 휴가를 받습니다. 휴가 신청은 최소 2주 전에 관리자에게 제출해야 합니다. 병가의 경우 "
    "당일 오전 9시까지 부서에 알려야 하며, 3일 이상 계속되는 경우 의사의 진단서를 제출해야 합니다.",
    "ru": "Каждый сотрудник имеет право на 27 дней оплачиваемого отпуска в календарном году. Заявление на отпуск "
    "подаётся руководителю не позднее чем за две недели. О болезни необходимо сообщить в отдел до девяти часов утра.",
    "de": "Jeder Mitarbeiter hat Anspruch auf 27 Urlaubstage pro Kalenderjahr. Urlaubsanträge müssen spätestens zwei "
    "Wochen vorher beim Vorgesetzten eingereicht werden. Im Krankheitsfall ist die Abteilung bis neun Uhr morgens zu "
    "benachrichtigen; ab dem dritten Tag ist eine ärztliche Bescheinigung nötig. Grüße aus Köln.",
    "fr": "Chaque employé a droit à 27 jours de congés payés par année civile. Les demandes de congé doivent être "
    "soumises au responsable au moins deux semaines à l’avance. En cas de maladie, prévenez le service avant neuf "
    "heures du matin ; au-delà de trois jours, un certificat médical est exigé.",
    "es": "Cada empleado tiene derecho a 27 días de vacaciones pagadas por año. Las solicitudes deben presentarse al "
    "supervisor con dos semanas de antelación. En caso de enfermedad, avise al departamento antes de las nueve de la "
    "mañana.",
    "cs": "Každý zaměstnanec má nárok na 27 dní placené dovolené za kalendářní rok. Žádosti o dovolenou se podávají "
    "nadřízenému nejméně dva týdny předem. V případě nemoci je třeba informovat oddělení do devíti hodin ráno.",
    "el": "Κάθε εργαζόμενος δικαιούται 27 ημέρες άδειας μετ' αποδοχών ανά ημερολογιακό έτος. Οι αιτήσεις άδειας "
    "υποβάλλονται στον προϊστάμενο τουλάχιστον δύο εβδομάδες νωρίτερα. Σε περίπτωση ασθένειας, ενημερώστε το τμήμα "
    "έως τις εννέα το πρωί.",
}

CASES = [
    ("ja", "shift_jis", "Shift-JIS"),
    ("ja", "euc_jp", "EUC-JP"),
    ("zh", "gb18030", "GB18030"),
    ("zh", "gb2312", "GB18030"),
    ("zh-hant", "big5", "Big5"),
    ("ko", "euc_kr", "EUC-KR"),
    ("ru", "cp1251", "Windows-1251"),
    ("ru", "koi8_r", "KOI8-R"),
    ("de", "latin-1", "Windows-1252"),
    ("fr", "cp1252", "Windows-1252"),
    ("es", "latin-1", "Windows-1252"),
    ("cs", "cp1250", "Windows-1250"),
    ("el", "iso8859_7", "Windows-1253"),
]


@pytest.mark.parametrize(("language", "encoding", "label"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_legacy_encodings_are_read_as_written(language: str, encoding: str, label: str) -> None:
    original = f"# {language}\n\n{PARAGRAPHS[language]}\n\n{PARAGRAPHS[language]}\n"
    document = load_bytes(original.encode(encoding), f"policy-{language}.md", suffix=".md")
    assert document.pages[0].text == clean_text(original)
    assert document.warnings == [f"not UTF-8; read as {label}"]


def test_a_large_file_is_detected_on_a_sample_and_decoded_whole() -> None:
    line = PARAGRAPHS["ja"] + "\n"
    data = line.encode("shift_jis") * (2 * DETECTION_SAMPLE // len(line.encode("shift_jis")) + 3)
    text, warnings = decode_text(data, "big.txt")
    assert (
        len(data) > DETECTION_SAMPLE
        and text == data.decode("shift_jis")
        and warnings == ["not UTF-8; read as Shift-JIS"]
    )


def test_html_in_a_legacy_encoding_is_read() -> None:
    html = f"<html><head><title>規程</title></head><body><h2>休暇</h2><p>{PARAGRAPHS['ja']}</p></body></html>"
    document = load_bytes(html.encode("shift_jis"), "kitei.html", suffix=".html")
    assert document.title == "規程"
    assert PARAGRAPHS["ja"] in document.pages[0].text


def test_utf8_with_a_few_broken_bytes_stays_utf8() -> None:
    data = ("Résumé — the naïve café’s menu. " * 20).encode() + b"\xe9t\xe9 " + ("Grüße. " * 10).encode()
    text, warnings = decode_text(data, "joined.txt")
    assert text.startswith("Résumé — the naïve café’s menu.") and text.endswith("Grüße. ")
    assert warnings == ["2 bytes that are not valid UTF-8 were replaced"]


@pytest.mark.parametrize("seed", range(5))
def test_bytes_no_encoding_reads_are_refused(seed: int) -> None:
    noise = random.Random(seed)
    high = bytes(noise.randrange(0x80, 0x100) for _ in range(4096))  # no NUL or control byte to call it binary
    with pytest.raises(DocumentError) as caught:
        load_bytes(high, "noise.txt", suffix=".txt")
    assert "the text encoding could not be recognised" in caught.value.reason
    anything = bytes(noise.randrange(0, 0x100) for _ in range(4096))
    with pytest.raises(DocumentError, match=r"binary|could not be recognised"):
        load_bytes(anything, "noise.txt", suffix=".txt")


def test_short_western_texts_keep_windows_1252() -> None:
    for text in ("Déjà vu", "Size: 5 µm ± 2 °C", "Grüße aus Köln", "Café crème à 3 €", "naïve “quotes” – dash"):
        assert decode_text(text.encode("cp1252"))[0] == text


def test_ingest_indexes_the_text_not_mojibake(tmp_path: Path, settings: Settings, embedder: HashEmbedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    chosen = [c for c in CASES if c[1] != "gb2312"]  # GB2312 bytes are GB18030 bytes: the same file
    for language, encoding, _ in chosen:
        (folder / f"{language}-{encoding}.txt").write_bytes(PARAGRAPHS[language].encode(encoding))
    noise = random.Random(9)
    (folder / "noise.txt").write_bytes(bytes(noise.randrange(0x80, 0x100) for _ in range(4096)))
    report = ingest(collect_sources([folder]), settings, embedder)  # parsed in the worker, under its memory cap
    status = {f.source: (f.status, f.reason) for f in report.files}
    assert status.pop("noise.txt")[1].startswith("the text encoding could not be recognised")
    assert {s for s, _ in status.values()} == {"indexed"} and len(status) == len(chosen)
    texts = " ".join(c.text for c in open_index(settings, embedder).chunks)
    for language, _, _ in chosen:
        assert PARAGRAPHS[language][:20] in texts
