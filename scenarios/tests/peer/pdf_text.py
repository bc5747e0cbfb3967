"""Compares the text of coxa's PDF report with its HTML report (the reference readers: poppler's
pdftotext for the text, pypdf for the document's metadata and page count).

usage: pdf_text.py REPORT.pdf REPORT.html

Prints JSON: the number of pages, the numbers (as written) of the HTML's text (style, title and
attribute values left out; SVG text included) and of the PDF's text (pdftotext -layout; the
page footers left out) that the other lacks, and for each HTML table the pages holding all of
its numbers (a table kept whole has at least one).
"""
import json
import re
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser

import pypdf

NUM = re.compile(r"-?\d+(?:\.\d+)?")


def norm(s):
    return s.replace("\u2212", "-").replace("\u00a0", " ")


class Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.skip = 0
        self.parts = []
        self.tables = []
        self.in_table = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "title", "script"):
            self.skip += 1
        if tag == "table":
            self.in_table += 1
            self.tables.append([])

    def handle_endtag(self, tag):
        if tag in ("style", "title", "script"):
            self.skip -= 1
        if tag == "table":
            self.in_table -= 1

    def handle_data(self, data):
        if self.skip:
            return
        self.parts.append(data)
        if self.in_table:
            self.tables[-1].append(data)


pdf = pypdf.PdfReader(sys.argv[1])
text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", sys.argv[1], "-"], check=True, capture_output=True).stdout.decode("utf-8")
# One page per form feed; the footer line "<case, plan date, revision> · page N of M" left out
# (the same on every page: the HTML shows it once, under the heading).
pages = [norm(re.sub(r"[^\n]*page \d+ of \d+[^\n]*", "", p)) for p in text.split("\f")]
if pages and not pages[-1].strip():
    pages.pop()
assert len(pages) == len(pdf.pages), (len(pages), len(pdf.pages))
parser = Text()
parser.feed(open(sys.argv[2], encoding="utf-8").read())
html_numbers = Counter(NUM.findall(norm(" ".join(parser.parts))))
pdf_numbers = Counter(NUM.findall(" ".join(pages)))
page_numbers = [Counter(NUM.findall(p)) for p in pages]
tables = []
for cells in parser.tables:
    want = Counter(NUM.findall(norm(" ".join(cells))))
    tables.append({"numbers": sum(want.values()), "pages_with_all": [k for k, c in enumerate(page_numbers) if not (want - c)]})
print(json.dumps({
    "pages": len(pages),
    "html_count": sum(html_numbers.values()),
    "pdf_count": sum(pdf_numbers.values()),
    "missing_from_pdf": sorted((html_numbers - pdf_numbers).elements()),
    "extra_in_pdf": sorted((pdf_numbers - html_numbers).elements()),
    "tables": tables,
    "title": pdf.metadata.title if pdf.metadata else None,
}))
