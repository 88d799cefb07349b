// Every choice and limit the RunConfig accepts, as the server states them (GET /api/choices): the pages
// never re-declare them. Loaded once by the page bootstrap before any panel is built.
import { tOr } from "../i18n/index.js";
import { api } from "./api.js";

let choices = null;

export async function loadChoices() {
  choices = await api.choices();
  return choices;
}

export function getChoices() {
  if (!choices) throw new Error("choices are read before loadChoices()");
  return choices;
}

// The values of one kind of choice; null stands for "let the engine choose" (the loss's natural pairing).
const KINDS = {
  optimizer: (c) => Object.keys(c.optimizers),
  activation: (c) => c.activations,
  output_activation: (c) => [null, ...c.output_activations],
  loss: (c) => [null, ...c.losses],
  init: (c) => c.inits,
  regularization: (c) => c.regularizations,
  schedule: (c) => Object.keys(c.schedules),
};

// [[value, catalogue key, fallback label], ...]; a choice the catalogues do not know shows its name.
export function options(kind) {
  return KINDS[kind](getChoices()).map((value) => [value, value === null ? "choice.auto" : `choice.${kind}.${value}`, String(value)]);
}

export function choiceLabel(kind, value) {
  return value === null ? tOr("choice.auto", "auto") : tOr(`choice.${kind}.${value}`, value);
}

// An optimizer's hyperparameters other than lr, as torch names them (betas as beta1 and beta2).
export const optimizerFields = (name) => getChoices().optimizers[name].fields;
export const optimizerDefaults = (name) => getChoices().optimizers[name].defaults;
// A schedule's parameters: [{name, integer, default, min, max}].
export const scheduleFields = (kind) => getChoices().schedules[kind] || [];
export const datasets = () => getChoices().datasets;
export const features = () => getChoices().features;
export const limits = () => getChoices().limits;
