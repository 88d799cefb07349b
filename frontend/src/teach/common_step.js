// Racers train at their own speeds (SGD's step is cheaper than Adam's, and racers may train in different
// processes), so their latest numbers are at different steps and say more about speed than about the
// optimizer. A fair comparison reads every racer at one step: the largest step every racer's history holds.

// The index of the last row whose step is at most `step` in an ascending step column (-1 if none).
function lastAtOrBefore(steps, step) {
  let low = 0;
  let high = steps.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (steps[middle] <= step) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

// The largest step present in every history, or null while one has none. Histories hold every step
// unless a frame was thinned (many steps between two frames), so this is usually the slowest racer's
// latest step; otherwise the step is lowered until every history has a row there.
export function commonStep(histories) {
  if (!histories.length || histories.some((history) => !history.length)) return null;
  let step = Math.min(...histories.map((history) => history.column("step")[history.length - 1]));
  for (;;) {
    const held = histories.map((history) => {
      const steps = history.column("step");
      const index = lastAtOrBefore(steps, step);
      return index < 0 ? null : steps[index];
    });
    if (held.includes(null)) return null;
    const lowest = Math.min(...held);
    if (lowest === step) return step;
    step = lowest;
  }
}

// A racer's numbers at `step` (one its history holds): the training loss there, and the test accuracy of
// the last evaluation at or before it (null if none yet; racers of one config evaluate at the same steps).
export function metricsAt(history, step) {
  const index = lastAtOrBefore(history.column("step"), step);
  const accuracy = history.column("test_accuracy");
  let evaluated = index;
  while (evaluated >= 0 && Number.isNaN(accuracy[evaluated])) evaluated--;
  return { loss: history.column("train_loss")[index], accuracy: evaluated >= 0 ? accuracy[evaluated] : null };
}
