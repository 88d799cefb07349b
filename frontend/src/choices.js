// The choices the RunConfig accepts (backend/backproplab/engine/config.py), with their catalogue keys.

const CHOICES = {
  optimizer: ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "adadelta", "nadam"],
  activation: ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu"],
  output_activation: [null, "linear", "sigmoid", "tanh", "relu", "softmax"],
  loss: [null, "bce", "cross_entropy", "mse", "mae", "huber"],
  init: ["zeros", "uniform", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"],
  regularization: ["none", "l1", "l2"],
  schedule: ["constant", "step", "exponential", "cosine", "cyclic"],
};

// [[value, catalogue key], ...]; null is "let the engine choose" (the loss's natural pairing).
export function options(kind) {
  return CHOICES[kind].map((value) => [value, value === null ? "choice.auto" : `choice.${kind}.${value}`]);
}

// Each optimizer's hyperparameters as torch.optim names them (betas shown as beta1 and beta2).
export const OPTIMIZER_FIELDS = {
  sgd: ["momentum", "dampening", "nesterov", "weight_decay"],
  momentum: ["momentum", "dampening", "weight_decay"],
  nesterov: ["momentum", "weight_decay"],
  adagrad: ["lr_decay", "initial_accumulator_value", "eps", "weight_decay"],
  rmsprop: ["alpha", "eps", "momentum", "centered", "weight_decay"],
  adam: ["beta1", "beta2", "eps", "amsgrad", "weight_decay"],
  adamw: ["beta1", "beta2", "eps", "amsgrad", "weight_decay"],
  adadelta: ["rho", "eps", "weight_decay"],
  nadam: ["beta1", "beta2", "eps", "momentum_decay", "weight_decay"],
};

export const SCHEDULE_FIELDS = {
  step: [{ name: "step_size", integer: true }, { name: "gamma" }],
  exponential: [{ name: "gamma" }],
  cosine: [{ name: "t_max", integer: true }, { name: "eta_min" }],
  cyclic: [{ name: "max_lr" }, { name: "step_size_up", integer: true }, { name: "step_size_down", integer: true }],
};

export const CLASSIFICATION_DATASETS = ["circle", "xor", "gauss", "spiral", "moons"];
export const REGRESSION_DATASETS = ["plane", "sine"];
export const MULTICLASS_DATASETS = new Set(["gauss", "spiral"]);

export const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];

// Each feature as a function of the raw point, for the input nodes' heatmaps.
export const FEATURE_FUNCTIONS = {
  x1: (x1) => x1,
  x2: (x1, x2) => x2,
  "x1^2": (x1) => x1 * x1,
  "x2^2": (x1, x2) => x2 * x2,
  "x1*x2": (x1, x2) => x1 * x2,
  "sin(x1)": (x1) => Math.sin(x1),
  "sin(x2)": (x1, x2) => Math.sin(x2),
};

export const MAX_LAYERS = 10;
export const MAX_NEURONS = 64;
