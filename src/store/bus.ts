// The bus of a store that one process owns: messages go to this process's own subscribers.
import { EventEmitter } from 'node:events';
import type { Bus } from './types.js';

export function createLocalBus(): Bus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async publish(channel, message) {
      // Delivered on a later turn, as a database notification would be.
      setImmediate(() => emitter.emit(channel, message));
    },
    subscribe(channel, listener) {
      emitter.on(channel, listener);
      return () => { emitter.off(channel, listener); };
    },
  };
}
