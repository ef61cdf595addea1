import type { Response } from 'express';

/** What a request was answered: its status, and its body as text (empty for a 204). */
export interface Answer {
  status: number;
  /** Put together when asked: the chunks as written, decoded as UTF-8. */
  text(): string;
}

/** Returns a promise to hold the answer's end until it settles, or nothing. */
type Listener = (answer: Answer) => Promise<unknown> | void;

const listenersOf = new WeakMap<Response, Listener[]>();

/**
 * Calls `listener` with the answer to `res` once all of it has been handed to `res.end`, the one
 * call every answer ends with, however it was sent: `res.json`, `res.send`, `res.end`, a piped
 * stream, an empty 204. When a listener returns a promise, the end of the answer waits for it, so
 * what it records exists before the client has the answer: on `finish`, a client's retry right
 * after the answer could come before it (docs/decisions/030).
 *
 * Only the requests that need their answer pay for this (the body's chunks kept until its end); a
 * response is observed once, whoever asks.
 */
export function onAnswer(res: Response, listener: Listener): void {
  const known = listenersOf.get(res);
  if (known) {
    known.push(listener);
    return;
  }
  const listeners = [listener];
  listenersOf.set(res, listeners);
  // Strings as they are (they cannot change); bytes copied, since a stream may reuse its buffers.
  const chunks: Array<string | Buffer> = [];
  const keep = (chunk: unknown, encoding: unknown) => {
    if (typeof chunk === 'string')
      chunks.push(
        typeof encoding === 'string' && !/^utf-?8$/i.test(encoding)
          ? Buffer.from(chunk, encoding as BufferEncoding)
          : chunk,
      );
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const text = () =>
    chunks.length === 1 && typeof chunks[0] === 'string'
      ? chunks[0]
      : Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).toString(
          'utf8',
        );
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  let ended = false;
  res.write = ((...args: unknown[]) => {
    keep(args[0], args[1]);
    return write(...args);
  }) as Response['write'];
  res.end = ((...args: unknown[]) => {
    if (ended) return res; // an answer ends once
    ended = true;
    if (typeof args[0] !== 'function') keep(args[0], args[1]);
    const answer = { status: res.statusCode, text };
    const holds = listeners.map((l) => l(answer)).filter((result) => result instanceof Promise);
    if (holds.length === 0) return end(...args);
    void Promise.allSettled(holds).then(() => end(...args));
    return res;
  }) as Response['end'];
}
