import type { Response } from 'express';
import { OperationResponseDto } from './dto/operation-response.dto';
import type { WatchUpdate } from './operation-watcher';
import { toOperationResponse } from './operation.mapper';

const KEEPALIVE_MS = 15_000;

/** Aborts when the client goes away, so long-polls and streams stop reading the database. */
export function closedSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  return controller.signal;
}

/** Writes watcher updates as Server-Sent Events until the operation ends or the client leaves. */
export async function writeEventStream(
  res: Response,
  updates: AsyncGenerator<WatchUpdate>,
): Promise<void> {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  const send = (event: string, data: unknown, id?: number) =>
    res.write(
      `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`,
    );
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  let last: OperationResponseDto | undefined;
  try {
    for await (const { operation, lines, finished } of updates) {
      const snapshot = toOperationResponse(operation);
      if (snapshot.status !== last?.status) send('status', snapshot);
      else if (snapshot.progress !== last.progress || snapshot.message !== last.message)
        send('progress', snapshot);
      last = snapshot;
      for (const line of lines) send('log', line, line.n);
      if (finished) send('end', snapshot);
    }
  } finally {
    clearInterval(keepalive);
    res.end();
  }
}
