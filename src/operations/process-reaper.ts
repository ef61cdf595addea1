import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The environment variable that marks a process as working for an operation: a driver that starts
 * processes sets it to the operation id, and everything those processes start inherits it. Pids
 * are reused and process groups can be left; the marker names the operation exactly.
 */
export const OPERATION_MARKER = 'FLIGHTDECK_OPERATION_ID';

const PREFIX = Buffer.from(`\0${OPERATION_MARKER}=`);

/**
 * The processes on this host carrying the marker, by operation id, read from /proc (empty where
 * there is none). Processes of other users, and zombies (their environment is gone), are not seen.
 */
export async function markedProcesses(): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const environ = await readFile(`/proc/${pid}/environ`).catch(() => undefined);
    const operationId = environ && markerIn(environ);
    if (operationId) found.set(operationId, [...(found.get(operationId) ?? []), pid]);
  }
  return found;
}

/**
 * SIGKILLs every process on this host marked with one of these operations, and waits until none
 * is left (or `withinMs` has passed). Returns the ids of the operations that still have some.
 */
export async function killOperationProcesses(
  operationIds: ReadonlySet<string>,
  withinMs = 5000,
): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = [...(await markedProcesses())].filter(([id]) => operationIds.has(id));
    if (left.length === 0 || Date.now() > deadline) return left.map(([id]) => id);
    for (const [, pids] of left) for (const pid of pids) kill(pid);
    await delay(50);
  }
}

/** `environ` is NUL-separated `NAME=value` entries; a leading NUL makes the first one match too. */
function markerIn(environ: Buffer): string | undefined {
  const all = Buffer.concat([Buffer.from('\0'), environ]);
  const at = all.indexOf(PREFIX);
  if (at < 0) return undefined;
  const start = at + PREFIX.length;
  const end = all.indexOf(0, start);
  return all.toString('utf8', start, end < 0 ? all.length : end) || undefined;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile, or not ours to signal
  }
}
