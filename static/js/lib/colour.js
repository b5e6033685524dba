// Theme colours: the organiser's, kept legible against the page's backdrop (WCAG contrast).

export const HEX_COLOUR = /^#[0-9a-f]{6}$/i;
// What the colour has to stand out against, and by how much (WCAG contrast ratio):
// 3:1 for a stripe or dot on a light page; the screen asks for more (it colours text).
let backdrop = { colour: '#ffffff', ratio: 3 };

/** Set what theme colours must stand out against on this page. */
export function setThemeBackdrop(colour, ratio) {
  backdrop = { colour, ratio };
}

const channels = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

function luminance(rgb) {
  const [r, g, b] = rgb.map((c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const legible = new Map();

/** The colour, moved toward white (dark backdrop) or black (light one) just enough to stand out. */
export function legibleColour(hex) {
  if (!HEX_COLOUR.test(hex || '')) return '';
  const cacheKey = `${hex}|${backdrop.colour}|${backdrop.ratio}`;
  if (legible.has(cacheKey)) return legible.get(cacheKey);
  const base = channels(hex);
  const back = channels(backdrop.colour);
  const toward = luminance(back) < 0.18 ? 255 : 0;
  let rgb = base;
  for (let step = 1; step <= 20 && contrast(rgb, back) < backdrop.ratio; step += 1) {
    rgb = base.map((c) => Math.round(c + (toward - c) * (step / 20)));
  }
  const out = `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  legible.set(cacheKey, out);
  return out;
}
