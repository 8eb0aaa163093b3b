"""Writes data/docs/northwind-handbook.pdf, the sample company handbook (10 pages, one topic per page).

Each page holds facts that appear on no other page, so tests can check that retrieval cites the right page.
Run `python scripts/make_sample_docs.py` after editing the text; the PDF is committed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

OUT = Path(__file__).resolve().parent.parent / "data" / "docs" / "northwind-handbook.pdf"

PAGES: list[tuple[str, list[str]]] = [
    (
        "1. Welcome to Northwind Analytics",
        [
            "Northwind Analytics was founded in 2011 by Maren Lunde and Tobias Eriksen in Tromso, Norway, where the "
            "head office still stands at Storgata 42. Today the company employs 240 people across three offices: "
            "Tromso, Bergen and Rotterdam.",
            "We build forecasting software for fisheries, ports and shipping companies. Our flagship product, "
            "TideCast, predicts harbour congestion up to ten days ahead and is used by 31 ports in northern Europe.",
            "This handbook describes how we work together. It applies to every permanent and fixed-term employee. "
            "Contractors follow the terms of their own agreements. The handbook is owned by the People team and is "
            "reviewed every January; the version you are reading took effect on 1 February 2026.",
            "If something in this handbook is unclear, ask your manager first, then the People team at "
            "people@northwind.example.",
        ],
    ),
    (
        "2. Working Hours and Remote Work",
        [
            "The standard working week is 37.5 hours. Core hours are 10:00 to 15:00 Central European Time, Monday to "
            "Thursday; outside core hours you may plan your day freely. On Fridays there are no core hours.",
            "Employees may work remotely up to three days per week. Remote work from another country is allowed for "
            "at most 20 working days per calendar year and must be approved by your manager in advance, because of "
            "tax and insurance rules.",
            "Overtime must be agreed with your manager beforehand. Approved overtime is compensated at 150 percent "
            "of the hourly rate, or taken as time off in lieu within three months.",
            "Each employee working from home receives a one-time home office allowance of 6,000 NOK for a desk, "
            "chair or screen.",
        ],
    ),
    (
        "3. Vacation and Public Holidays",
        [
            "Every employee is entitled to 27 vacation days per calendar year, in addition to public holidays. "
            "Employees aged 60 and over receive six extra days.",
            "Vacation requests of more than five consecutive days must be submitted at least four weeks ahead in "
            "the HR system, Fjord. Requests for summer vacation must be submitted by 1 April.",
            "Up to five unused vacation days can be carried over to the next year. Carried-over days expire if they "
            "are not taken by 31 March. The company closes between Christmas Eve and New Year's Day; those days "
            "do not count against your vacation.",
            "You are not expected to read email or answer messages while on vacation.",
        ],
    ),
    (
        "4. Sick Leave and Parental Leave",
        [
            "If you are ill, tell your manager before 09:00 on the first day of absence. You may self-certify sick "
            "leave for up to four calendar days at a time; from the fifth day a doctor's note is required.",
            "Northwind pays full salary during sick leave for up to 12 months, also above the state limit.",
            "Parental leave is 20 weeks at full pay for each parent, which can be taken any time before the child "
            "turns three. Employees who adopt a child have the same rights.",
            "After returning from parental leave, employees may work 80 percent of normal hours for full pay for "
            "eight weeks, to ease the return.",
        ],
    ),
    (
        "5. Travel and Expenses",
        [
            "Business travel must be booked through the travel portal, Compass. Flights shorter than six hours are "
            "booked in economy class; longer flights may be booked in premium economy.",
            "The daily meal allowance while travelling is 45 euros. Hotel nights are reimbursed up to 180 euros "
            "per night in capital cities and 140 euros elsewhere.",
            "Expense claims are submitted in the expense tool, Ledger, with a photo of each receipt, within 30 days "
            "of the expense. Claims submitted later than 90 days are not reimbursed.",
            "Train is preferred over flying for trips under 500 kilometres, as part of our climate policy.",
        ],
    ),
    (
        "6. IT and Information Security",
        [
            "Passwords must be at least 14 characters long and unique to each service. Multi-factor authentication "
            "is mandatory for email, the code repositories and the HR system.",
            "Company laptops are replaced every three years. Personal devices may be used for email only when "
            "enrolled in device management.",
            "Report a suspected security incident, such as a lost laptop or a phishing email you clicked, to "
            "security@northwind.example within one hour. Reporting quickly is never punished.",
            "Customer data is classified as Confidential and must never be copied to personal storage or to "
            "cloud services that the IT team has not approved.",
        ],
    ),
    (
        "7. Benefits and Learning",
        [
            "Northwind contributes 6 percent of salary to the occupational pension scheme, and matches a further "
            "2 percent if the employee contributes the same.",
            "Each employee has a personal learning budget of 15,000 NOK per year for courses, conferences and books, "
            "and five learning days per year.",
            "The company pays a gym or sports club subsidy of 400 NOK per month. Health insurance covers private "
            "specialist appointments and physiotherapy.",
            "Employees can buy company shares at a 15 percent discount through the share saving programme, with a "
            "limit of 30,000 NOK per year.",
        ],
    ),
    (
        "8. Performance and Growth",
        [
            "Performance conversations take place twice a year, in April and October. They are based on goals "
            "agreed at the start of each half-year and on feedback from at least three colleagues.",
            "Salaries are reviewed once a year, in the October cycle, and changes take effect on 1 January.",
            "Promotions are decided by a promotion committee of four senior staff, which meets after each review "
            "cycle. Employees may nominate themselves.",
            "Every employee has a mentor outside their own team during the first year.",
        ],
    ),
    (
        "9. Code of Conduct",
        [
            "Employees may accept gifts from customers or suppliers only when their value is below 500 NOK. Gifts "
            "of higher value must be declined or reported to the ethics officer, Ingrid Solberg.",
            "Concerns about fraud, harassment or other serious misconduct can be reported anonymously through the "
            "whistleblowing channel, Beacon, which is run by an external law firm.",
            "Employees must declare side jobs and board positions to their manager, who confirms in writing that "
            "there is no conflict of interest.",
            "Everyone completes the code-of-conduct course in their first month and then every second year.",
        ],
    ),
    (
        "10. Leaving Northwind",
        [
            "The notice period is two months for both sides after the probation period, and 14 days during the "
            "six-month probation period.",
            "Company equipment, including laptop, phone and access card, must be returned within five working "
            "days of the last working day.",
            "Every leaver is offered an exit interview with the People team, whose notes are anonymised before "
            "they are shared with management.",
            "Former employees are welcome in the alumni network, which meets every June in Bergen.",
        ],
    ),
]


class HandbookPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-18)
        self.set_font("Helvetica", "I", 9)
        self.cell(0, 6, f"Northwind Analytics Employee Handbook - page {self.page_no()}", align="C")


def build(out: Path = OUT) -> Path:
    pdf = HandbookPDF(format="A4")
    pdf.set_title("Northwind Analytics Employee Handbook")
    pdf.set_author("Northwind Analytics People Team")
    pdf.set_creation_date(datetime(2026, 2, 1, tzinfo=UTC))  # reproducible bytes
    pdf.set_margins(22, 22, 22)
    for title, paragraphs in PAGES:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 17)
        pdf.multi_cell(0, 10, title)
        pdf.ln(4)
        pdf.set_font("Helvetica", "", 11.5)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6.5, paragraph)
            pdf.ln(3.5)
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
    return out


if __name__ == "__main__":
    print(build())
