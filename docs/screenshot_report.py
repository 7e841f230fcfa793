"""Screenshot a run's report in headless Chromium, as a reader at a given width sees it.

    python docs/screenshot_report.py RUN_DIR [--width 1280] [--out report.png]

Writes RUN_DIR/report.html (``jinglian report``), opens it in Debian's Chromium through playwright
(the dev extra), prints the page's scroll width (wider than --width means something is cut off),
console errors and the sections, and saves a full-page PNG.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jinglian.report import write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    page_path = write_report(args.run_dir)
    png = args.out or page_path.with_suffix(".png")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(page_path.as_uri())
        width = page.evaluate("document.documentElement.scrollWidth")
        height = page.evaluate("document.documentElement.scrollHeight")
        sections = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
        page.screenshot(path=str(png), full_page=True)
        browser.close()
    print(f"report: {page_path}\nscreenshot: {png} ({args.width} x {height} px, page scroll width {width} px)")
    print(f"sections: {', '.join(sections)}\nconsole errors: {errors or 'none'}")


if __name__ == "__main__":
    main()
