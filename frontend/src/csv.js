// Reading an uploaded CSV in the browser: a header row, then numbers; the last column is the target.
// Problems are reported with the line and column so a person can fix the file.
import { t } from "./i18n/index.js";

export function parseCsv(text) {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const header = lines[0] ? lines[0].split(",").map((cell) => cell.trim()) : [];
  if (header.length < 2) throw new Error(t("data.csv_header"));
  const X = [];
  const y = [];
  for (let number = 2; number <= lines.length; number++) {
    const line = lines[number - 1].trim();
    if (!line) continue;
    const cells = line.split(",").map((cell) => cell.trim());
    if (cells.length !== header.length) {
      throw new Error(t("data.csv_width", { line: number, found: cells.length, expected: header.length }));
    }
    const values = cells.map((cell, column) => {
      const value = cell === "" ? NaN : Number(cell);
      if (!Number.isFinite(value)) throw new Error(t("data.csv_number", { line: number, column: header[column], cell }));
      return value;
    });
    y.push(values.pop());
    X.push(values);
  }
  if (X.length < 2) throw new Error(t("data.csv_rows"));
  return { X, y, names: header.slice(0, -1) };
}
