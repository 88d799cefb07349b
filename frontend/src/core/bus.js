// The one event bus of a page: panels and views talk through named events instead of holding each other.
export function createBus() {
  const listeners = new Map();
  return {
    on(event, listener) {
      if (!listeners.has(event)) listeners.set(event, []);
      listeners.get(event).push(listener);
    },
    emit(event, payload) {
      for (const listener of listeners.get(event) || []) listener(payload);
    },
  };
}
