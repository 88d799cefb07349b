// The data's names as the server keeps them with the run (`resolved.raw_names`, `target_name`,
// `class_names`): the input columns (x1, x2, … unless named), the target (y), the classes ("class 0", …
// in the page's language unless named), and the network's input features written with the columns'
// names ("height²" for x1^2 when x1 is called height).
import { t } from "./i18n/index.js";

export function columnNames(resolved) {
  const width = resolved.raw_input_size ?? resolved.input_size;
  return {
    inputs: resolved.raw_names || Array.from({ length: width }, (_, k) => `x${k + 1}`),
    target: resolved.target_name || "y",
    classes: resolved.class_names || Array.from({ length: resolved.num_classes || 2 }, (_, k) => t("data.class_n", { n: k })),
  };
}

// A feature of 2-D data (x1, x2, x1^2, x1*x2, sin(x1), …) in the columns' names; as it is for x1 and x2.
export function featureLabel(feature, rawNames) {
  if (!rawNames || rawNames.length !== 2 || (rawNames[0] === "x1" && rawNames[1] === "x2")) return feature;
  return feature
    .replace(/x([12])/g, (_, k) => rawNames[Number(k) - 1])
    .replace(/\^2$/, "²")
    .replace("*", "·");
}
