// The join link as a QR code a phone can scan from the back of the room: qrcode-generator (vendored, MIT)
// computes the modules, this draws them on a canvas with the quiet zone the standard asks for.
import { qrcode } from "../../vendor/qrcode-generator/qrcode.mjs";
import { fitCanvas } from "../dom.js";

const QUIET_MODULES = 4; // ISO/IEC 18004: a light margin four modules wide
const ERROR_CORRECTION = "M"; // ~15% of the code may be unreadable (a glare on a projector screen)

export function drawQr(canvas, text, size) {
  const qr = qrcode(0, ERROR_CORRECTION); // 0: the smallest version that holds the text
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const cells = count + 2 * QUIET_MODULES;
  const module = Math.max(1, Math.floor(size / cells)); // whole pixels per module: crisp edges
  const side = module * cells;
  const ctx = fitCanvas(canvas, side, side);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, side, side);
  ctx.fillStyle = "#000000";
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (qr.isDark(row, col)) ctx.fillRect((col + QUIET_MODULES) * module, (row + QUIET_MODULES) * module, module, module);
    }
  }
  canvas.dataset.modules = String(count);
  return side;
}
