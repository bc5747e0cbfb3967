"""Reads a PDF with pypdf (the reference reader): its metadata title, the text of page 1
(pypdf's text extraction), and every font of every page with whether its program is embedded
(a FontFile, FontFile2 or FontFile3 in its descriptor; a Type0 font through its descendant).

usage: pdf_fonts.py REPORT.pdf

Prints JSON: {"title", "pages", "page1", "fonts": [{"name", "subtype", "embedded"}]}.
"""
import json
import sys

import pypdf

pdf = pypdf.PdfReader(sys.argv[1])
fonts = {}
for page in pdf.pages:
    res = page.get("/Resources") or {}
    for _, ref in (res.get("/Font") or {}).items():
        f = ref.get_object()
        desc_font = f["/DescendantFonts"][0].get_object() if "/DescendantFonts" in f else f
        desc = desc_font.get("/FontDescriptor")
        desc = desc.get_object() if desc is not None else {}
        embedded = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
        fonts[str(f.get("/BaseFont"))] = {"name": str(f.get("/BaseFont")), "subtype": str(f.get("/Subtype")), "embedded": embedded}
print(json.dumps({
    "title": pdf.metadata.title if pdf.metadata else None,
    "pages": len(pdf.pages),
    "page1": pdf.pages[0].extract_text(),
    "fonts": sorted(fonts.values(), key=lambda f: f["name"]),
}, ensure_ascii=False))
