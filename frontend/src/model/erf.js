// The error function, which JavaScript's Math lacks, for the exact GELU (torch's default form).
//   erf(x) = 2/√π ∫₀ˣ e^(−t²) dt,  erfc(x) = 1 − erf(x).
// Two expansions, each used where it converges fast and without cancellation:
//   |x| < 3:  erf(x) = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·5···(2n+1))   (every term positive)
//   x ≥ 3:    erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + 2/(x + …)))))   (continued fraction)
// Both reach a relative error of a few ulps in double precision (tests/e2e/test_forward.py checks erf
// against Python's math.erf).
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SWITCH = 3;
const MAX_TERMS = 200;

function seriesErf(x) {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < MAX_TERMS; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= Math.abs(sum) * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

// erfc for x ≥ SWITCH by the modified Lentz algorithm on the continued fraction above.
// NOTE: e^(−x²) underflows to 0 past x ≈ 27; erfc is then 0 to double precision anyway.
function fractionErfc(x) {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < MAX_TERMS; k++) {
    const a = k / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (f * Math.sqrt(Math.PI));
}

export function erf(x) {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) < SWITCH) return seriesErf(x);
  return x > 0 ? 1 - fractionErfc(x) : fractionErfc(-x) - 1;
}

export function erfc(x) {
  if (Number.isNaN(x)) return NaN;
  if (x >= SWITCH) return fractionErfc(x);
  if (x <= -SWITCH) return 2 - fractionErfc(-x);
  return 1 - seriesErf(x);
}
