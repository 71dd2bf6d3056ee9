"""What the browser tests of renkei's pages check alike: the computed text
contrast of every visible text element (WCAG: 7:1 for residents' pages,
AAA; 4.5:1 for staff pages, AA at least)."""

CONTRAST_JS = r"""
const minimum = arguments[0];
function lum(c) {
  const m = c.match(/rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/);
  if (!m) return null;
  const f = (v) => { v = v / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return { l: 0.2126 * f(+m[1]) + 0.7152 * f(+m[2]) + 0.0722 * f(+m[3]), a: m[4] === undefined ? 1 : +m[4] };
}
function background(e) {
  for (; e; e = e.parentElement) {
    const b = lum(getComputedStyle(e).backgroundColor);
    if (b && b.a > 0) return b.l;
  }
  return 1;
}
const bad = [];
let checked = 0;
for (const e of document.querySelectorAll("body *")) {
  if (e.offsetParent === null && getComputedStyle(e).position !== "fixed") continue;
  const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own) continue;
  const c = lum(getComputedStyle(e).color);
  const b = background(e);
  const ratio = (Math.max(c.l, b) + 0.05) / (Math.min(c.l, b) + 0.05);
  checked++;
  if (ratio < minimum) bad.push(e.tagName + "#" + e.id + "." + e.className + " " + ratio.toFixed(2) + " '" + e.textContent.trim().slice(0, 20) + "'");
}
return [checked, bad];
"""


def contrast_problems(driver, minimum):
    """(text elements checked, those below `minimum`:1)."""
    return driver.execute_script(CONTRAST_JS, minimum)
