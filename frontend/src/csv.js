// Reading an uploaded CSV in the browser: a header row, then rows; the last column is the target. The
// delimiter is sniffed from the header (comma, semicolon or tab). Inputs must be numbers; a target of
// words (class labels such as "setosa") is mapped to class indices 0..K−1 in order of first appearance,
// and the names are kept. Problems are reported with the line and column so a person can fix the file.
import { t } from "./i18n/index.js";

const DELIMITERS = [",", ";", "\t"];

export function sniffDelimiter(header) {
  let best = ",";
  for (const delimiter of DELIMITERS) if (header.split(delimiter).length > header.split(best).length) best = delimiter;
  return best;
}

export function parseCsv(text) {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const delimiter = sniffDelimiter(lines[0] || "");
  const split = (line) => line.split(delimiter).map((cell) => cell.trim().replace(/^"(.*)"$/, "$1"));
  const header = lines[0] ? split(lines[0]) : [];
  if (header.length < 2) throw new Error(t("data.csv_header"));
  const X = [];
  const targets = [];
  for (let number = 2; number <= lines.length; number++) {
    const line = lines[number - 1].trim();
    if (!line) continue;
    const cells = split(line);
    if (cells.length !== header.length) {
      throw new Error(t("data.csv_width", { line: number, found: cells.length, expected: header.length }));
    }
    targets.push(cells.pop());
    X.push(cells.map((cell, column) => {
      const value = cell === "" ? NaN : Number(cell);
      if (!Number.isFinite(value)) throw new Error(t("data.csv_number", { line: number, column: header[column], cell }));
      return value;
    }));
  }
  if (X.length < 2) throw new Error(t("data.csv_rows"));
  const numeric = targets.every((cell) => cell !== "" && Number.isFinite(Number(cell)));
  const classes = numeric ? null : [...new Set(targets)];
  const y = numeric ? targets.map(Number) : targets.map((cell) => classes.indexOf(cell));
  return { X, y, columns: header.slice(0, -1), target: header.at(-1), classes };
}
