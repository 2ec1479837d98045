/**
 * The message channel of a worker process to its parent, whichever way it was started:
 * Node's child_process.fork (process.send) or Electron's utilityProcess (process.parentPort).
 * When the parent goes away the worker exits instead of lingering as an orphan.
 */

export interface ParentChannel<TIn, TOut> {
  send(msg: TOut): void;
  onMessage(handler: (msg: TIn) => void): void;
}

interface ParentPortLike {
  postMessage(msg: unknown): void;
  on(event: 'message', handler: (e: { data: unknown }) => void): void;
}

export function parentChannel<TIn, TOut>(name: string): ParentChannel<TIn, TOut> {
  const port = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  if (port) {
    return {
      send: (msg) => port.postMessage(msg),
      onMessage: (handler) => port.on('message', (e) => handler(e.data as TIn)),
    };
  }
  if (typeof process.send === 'function') {
    process.on('disconnect', () => process.exit(0));
    return {
      send: (msg) => process.send?.(msg),
      onMessage: (handler) => process.on('message', (m) => handler(m as TIn)),
    };
  }
  process.stderr.write(`${name} must be started by Fieldbook with an IPC channel\n`);
  process.exit(2);
}
