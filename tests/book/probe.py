"""Measure built pages in headless Chromium: a harness page, served beside the site, loads each page
in a 1280x900 frame, lets the theme's scripts run, runs a probe in it and writes what it found as
JSON into its own DOM, which `--dump-dom` hands back. (Chromium's command line runs no script of
ours, and the frame shares the site's origin, so the harness may read the page it loaded.)"""

from __future__ import annotations

import html
import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.book.browser import browser

VIEW_WIDTH, VIEW_HEIGHT = 1280, 900
HARNESS = "mso-probe.html"

# For each page: the document's scroll width against the frame's, and every element of the
# content that reaches past the right edge of the view without a box of its own that scrolls it
# (an ancestor with overflow-x auto/scroll whose own box ends inside the view).
OVERFLOW = """
function overflow(d, w) {
  const view = d.documentElement.clientWidth;
  const clipped = [];
  for (const el of d.querySelectorAll('.md-main *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= view + 1) continue;
    let box = el.parentElement, held = false;
    while (box && box !== d.body) {
      const o = w.getComputedStyle(box).overflowX;
      if ((o === 'auto' || o === 'scroll' || o === 'hidden')
          && box.getBoundingClientRect().right <= view + 1) { held = true; break; }
      box = box.parentElement;
    }
    if (!held) clipped.push(el.tagName + '.' + el.className + ': '
                            + (el.textContent || '').slice(0, 60));
  }
  const tables = [...d.querySelectorAll('.md-content table')].map(t => {
    const wrap = t.closest('.md-typeset__scrollwrap') || t;
    return {right: wrap.getBoundingClientRect().right, scroll: wrap.scrollWidth,
            client: wrap.clientWidth};
  });
  return {view: view, scrollWidth: d.documentElement.scrollWidth,
          bodyScrollWidth: d.body.scrollWidth, clipped: clipped.slice(0, 20), tables: tables};
}
"""

SEARCH = """
function search(d, w, word, done) {
  const input = d.querySelector('input.md-search__input');
  input.focus();
  input.value = word;
  for (const kind of ['focus', 'input', 'keyup', 'change'])
    input.dispatchEvent(new w.Event(kind, {bubbles: true}));
  let tries = 0;
  const look = () => {
    // virtual time runs ahead of the search worker; a synchronous request takes real time
    const wait = new XMLHttpRequest();
    wait.open('GET', 'search/search_index.json', false);
    wait.send();
    const items = [...d.querySelectorAll('.md-search-result__item a')];
    if (items.length || ++tries > 200)
      done({meta: (d.querySelector('.md-search-result__meta') || {}).textContent,
            results: items.map(a => ({href: a.getAttribute('href'),
                                       text: a.textContent.trim().slice(0, 200)}))});
    else setTimeout(look, 250);
  };
  setTimeout(look, 250);
}
"""

PAGE = """<!doctype html><html><body>
<iframe id="f" width="{w}" height="{h}" style="border:0"></iframe>
<pre id="out">pending</pre>
<script>
{overflow}
{search}
const jobs = {jobs};
const results = [];
const frame = document.getElementById('f');
function next() {{
  if (!jobs.length) {{ document.getElementById('out').textContent = JSON.stringify(results); return; }}
  const job = jobs.shift();
  frame.onload = () => setTimeout(() => {{
    const d = frame.contentDocument, w = frame.contentWindow;
    if (job.search) search(d, w, job.search, r => {{ results.push({{url: job.url, ...r}}); next(); }});
    else {{ results.push({{url: job.url, ...overflow(d, w)}}); next(); }}
  }}, 1500);
  frame.src = job.url;
}}
next();
</script></body></html>
"""


def run(chromium: str, site: Path, base: str, jobs: list[dict], profile: Path) -> list[dict]:
    """Load each job's page (`url` relative to the site) in the harness; what the probes found."""
    (site / HARNESS).write_text(PAGE.format(w=VIEW_WIDTH, h=VIEW_HEIGHT, overflow=OVERFLOW,
                                            search=SEARCH, jobs=json.dumps(jobs)))
    budget = 15000 * len(jobs)
    done = browser(chromium, profile, f"--virtual-time-budget={budget}", "--dump-dom",
                   f"{base}/{HARNESS}")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout.split('<pre id="out">', 1)[1].split("</pre>", 1)[0]
    assert out != "pending", "the harness did not finish: " + done.stderr[-2000:]
    return json.loads(html.unescape(out))


@contextmanager
def served(site: Path) -> Iterator[str]:
    """The site served by `python -m http.server` on 127.0.0.1 (a free port)."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                             "--directory", str(site)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()   # "Serving HTTP on 127.0.0.1 port 41234 (http://...) ..."
        yield f"http://127.0.0.1:{int(line.split(' port ')[1].split()[0])}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
