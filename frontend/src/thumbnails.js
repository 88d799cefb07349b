// Small pictures of each built-in dataset for the dataset picker: a fixed sketch of its shape, drawn once.
import { CLASS_COLORS, divergingColor } from "./colors.js";

const SIZE = 48;
const POINTS = 90;

// A deterministic generator so the pictures look the same on every load.
function random(seed) {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 4294967296;
    return state / 4294967296;
  };
}

const SKETCHES = {
  circle: (r) => {
    const inner = r() < 0.5;
    const radius = inner ? r() * 2.5 : 3.5 + r() * 2;
    const angle = r() * 2 * Math.PI;
    return [radius * Math.cos(angle), radius * Math.sin(angle), inner ? 1 : 0];
  },
  xor: (r) => {
    const x = r() * 10 - 5;
    const y = r() * 10 - 5;
    return [x, y, x * y >= 0 ? 1 : 0];
  },
  gauss: (r) => {
    const label = r() < 0.5 ? 1 : 0;
    const centre = label ? 2 : -2;
    return [centre + (r() - 0.5) * 3, centre + (r() - 0.5) * 3, label];
  },
  spiral: (r) => {
    const label = r() < 0.5 ? 1 : 0;
    const s = r();
    const angle = s * 1.75 * 2 * Math.PI + label * Math.PI;
    return [5 * s * Math.sin(angle), 5 * s * Math.cos(angle), label];
  },
  moons: (r) => {
    const label = r() < 0.5 ? 1 : 0;
    const angle = r() * Math.PI;
    const x = label ? 1 - Math.cos(angle) : Math.cos(angle);
    const y = label ? 0.5 - Math.sin(angle) : Math.sin(angle);
    return [(x - 0.5) * 3.5, (y - 0.25) * 3.5, label];
  },
  plane: (r) => {
    const x = r() * 12 - 6;
    const y = r() * 12 - 6;
    return [x, y, (x + y) / 12];
  },
  sine: (r) => {
    const x = r() * 12 - 6;
    const y = r() * 12 - 6;
    return [x, y, (Math.sin(x) + Math.sin(y)) / 2];
  },
};

export function drawThumbnail(canvas, kind) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = SIZE * ratio;
  canvas.height = SIZE * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.fillStyle = "#fafafa";
  ctx.fillRect(0, 0, SIZE, SIZE);
  const r = random(kind.length * 7919);
  const regression = kind === "plane" || kind === "sine";
  for (let k = 0; k < POINTS; k++) {
    const [x, y, value] = SKETCHES[kind](r);
    ctx.fillStyle = regression ? divergingColor(0.5 + value / 2) : CLASS_COLORS[value];
    ctx.beginPath();
    ctx.arc(((x + 6) / 12) * SIZE, (1 - (y + 6) / 12) * SIZE, 1.6, 0, 2 * Math.PI);
    ctx.fill();
  }
}
