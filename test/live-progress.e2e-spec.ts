import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import { writeDriversConfig } from './helpers/drivers-config';
import {
  ADMIN_KEY,
  bearer,
  eventually,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

const EMIT = JSON.stringify(join(__dirname, 'fixtures', 'emit.js'));
/** What the `steps` environment prints, in order: ten lines, the bound of this file's app. */
const STEPS_OUTPUT = [
  'line 1',
  'line 2',
  '::progress 20',
  'line 3',
  'line 4',
  '::progress 50',
  'line 5',
  'line 6',
  '::progress 80',
  'line 7',
];
/** A command environment running emit.js with these steps (see the fixture). */
const emit = (...steps: string[]) =>
  `{ driver: command, command: [${[EMIT, ...steps.map((s) => JSON.stringify(s))].join(', ')}] }`;

interface SseEvent {
  event: string;
  data: any;
  id?: string;
}

/** Reads a whole Server-Sent Events body (until the server ends it) into events. */
async function readEvents(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (value) buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
      }
      if (fields.event)
        events.push({ event: fields.event, data: JSON.parse(fields.data), id: fields.id });
    }
    if (done) return events;
  }
}

describe('live progress (e2e)', () => {
  let t: TestApp;
  let base: string;
  let configPath: string;

  beforeAll(async () => {
    configPath = writeDriversConfig(`
environments:
  paged:   ${emit('lines 1 5', 'sleep 1500', 'lines 6 10')}
  chatty:  ${emit('lines 1 25')}
  quick:   ${emit('sleep 1500', 'lines 1 1')}
  long:    ${emit('sleep 5000', 'lines 1 1')}
  steps:   ${emit('lines 1 2', 'progress 20', 'sleep 600', 'lines 3 4', 'progress 50', 'sleep 600', 'lines 5 6', 'progress 80', 'sleep 600', 'lines 7 7')}
`);
    // Every operation keeps at most its newest 10 lines; the other scripts print no more than that.
    t = await startTestApp({
      FLIGHTDECK_CONFIG: configPath,
      FLIGHTDECK_LOG_LINES_PER_OPERATION: '10',
    });
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await t?.close();
    if (configPath) rmSync(dirname(configPath), { recursive: true, force: true });
  });

  /** A finished operation, for the requests that are refused before anything is read. */
  let finishedOpId: string;
  beforeAll(async () => {
    const done = await deployAndWait(t, {
      service: uniqueService('done'),
      version: '1',
      environment: 'chatty',
    });
    finishedOpId = done.operation_id;
  });

  const logs = (id: string, query = '', secret = ADMIN_KEY) =>
    t.http().get(`/api/v1/operations/${id}/logs${query}`).set(bearer(secret));
  const start = async (environment: string) => {
    const created = await requestDeployment(t, {
      service: uniqueService(environment),
      version: '1',
      environment,
    });
    expect(created.status).toBe(201);
    return created.body as { id: string; operation_id: string };
  };
  const cancelAndWait = async (operationId: string) => {
    await t.http().post(`/api/v1/operations/${operationId}/cancel`).set(bearer(ADMIN_KEY));
    await waitForOperation(t, operationId);
  };

  describe('GET /api/v1/operations/{id}/logs', () => {
    it('should page with after and limit, and answer after=next with only the newer lines', async () => {
      const { operation_id: opId } = await start('paged');

      // While it runs: the first five lines, then nothing more until the script goes on.
      let first: any;
      await eventually(async () => {
        first = (await logs(opId)).body;
        return first.lines.length === 5;
      }, 5000);
      expect(first).toMatchObject({ next: 5, dropped: 0, status: 'running' });
      expect(first.lines.map((l: { n: number }) => l.n)).toEqual([1, 2, 3, 4, 5]);
      expect(first.lines[0]).toMatchObject({ n: 1, stream: 'stdout', text: 'line 1' });

      await waitForOperation(t, opId);
      const newer = await logs(opId, `?after=${first.next}`);
      expect(newer.status).toBe(200);
      expect(newer.body).toMatchObject({ next: 10, dropped: 0, status: 'succeeded' });
      expect(newer.body.lines.map((l: { text: string }) => l.text)).toEqual([
        'line 6',
        'line 7',
        'line 8',
        'line 9',
        'line 10',
      ]);

      const window = await logs(opId, '?after=2&limit=3');
      expect(window.body.lines.map((l: { n: number }) => l.n)).toEqual([3, 4, 5]);
      expect(window.body.next).toBe(5);

      const past = await logs(opId, '?after=10');
      expect(past.body).toMatchObject({ lines: [], next: 10, dropped: 0, status: 'succeeded' });
    });

    it('should keep only the newest lines within the bound and count the dropped ones', async () => {
      const { operation_id: opId } = await start('chatty');
      await waitForOperation(t, opId);

      const res = await logs(opId);

      expect(res.status).toBe(200);
      expect(res.body.dropped).toBe(15);
      expect(res.body.next).toBe(25);
      expect(res.body.lines.map((l: { n: number }) => l.n)).toEqual([
        16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
      ]);
      expect(res.body.lines[0].text).toBe('line 16');
      expect(
        (await logs(opId, '?after=3&limit=2')).body.lines.map((l: { n: number }) => l.n),
      ).toEqual([16, 17]);
    });

    it.each([
      'after=-1',
      'after=abc',
      'after=1.5',
      'after=2147483648',
      'limit=0',
      'limit=5001',
      'limit=x',
    ])('should refuse %s with 400 validation_error', async (query) => {
      const res = await logs(finishedOpId, `?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('validation_error');
    });

    it('should answer 404 resource_not_found for an unknown operation', async () => {
      for (const id of ['nope', '00000000-0000-0000-0000-000000000000']) {
        const res = await logs(id);
        expect(res.status).toBe(404);
        expect(res.body.error).toBe('resource_not_found');
      }
    });
  });

  describe('GET /api/v1/operations/{id}?wait=N', () => {
    it('should answer once the operation has finished, well before the wait is over', async () => {
      const { operation_id: opId } = await start('quick');
      const started = Date.now();

      const res = await t.http().get(`/api/v1/operations/${opId}?wait=5`).set(bearer(ADMIN_KEY));
      const took = Date.now() - started;

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: opId, status: 'succeeded', progress: 100 });
      expect(took).toBeGreaterThanOrEqual(1000);
      expect(took).toBeLessThan(4000);
    });

    it('should answer with the running operation when the wait ends first', async () => {
      const { operation_id: opId } = await start('long');
      await eventually(
        async () =>
          (await t.http().get(`/api/v1/operations/${opId}`).set(bearer(ADMIN_KEY))).body.status ===
          'running',
        5000,
      );
      const started = Date.now();

      const res = await t.http().get(`/api/v1/operations/${opId}?wait=1`).set(bearer(ADMIN_KEY));
      const took = Date.now() - started;

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: opId, status: 'running' });
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(2500);
      await cancelAndWait(opId);
    });

    it.each(['wait=61', 'wait=abc', 'wait=-1'])(
      'should refuse %s with 400 validation_error',
      async (query) => {
        const res = await t
          .http()
          .get(`/api/v1/operations/${finishedOpId}?${query}`)
          .set(bearer(ADMIN_KEY));
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('validation_error');
      },
    );
  });

  describe('GET /api/v1/operations/{id}/events', () => {
    const stream = (id: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/api/v1/operations/${id}/events`, {
        headers: { ...bearer(ADMIN_KEY), ...headers },
        signal: AbortSignal.timeout(15000),
      });

    it('should stream status, rising progress and numbered log lines, then end and close by itself', async () => {
      const { id: deploymentId, operation_id: opId } = await start('steps');

      const res = await stream(opId);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('cache-control')).toContain('no-cache');
      const events = await readEvents(res);

      expect(events[0].event).toBe('status');
      expect(events[0].data).toMatchObject({ id: opId, target: { id: deploymentId } });
      expect(events.filter((e) => e.event === 'status').map((e) => e.data.status)).toContain(
        'running',
      );

      const progress = events
        .filter((e) => e.event === 'progress')
        .map((e) => e.data.progress as number);
      expect(new Set(progress).size).toBeGreaterThanOrEqual(2);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(progress.every((p) => p > 0 && p < 100)).toBe(true);

      const lines = events.filter((e) => e.event === 'log');
      expect(lines.map((e) => e.data.text)).toEqual(STEPS_OUTPUT);
      expect(lines.map((e) => Number(e.id))).toEqual(lines.map((e) => e.data.n));
      expect(lines.map((e) => e.data.n)).toEqual(lines.map((_, i) => i + 1));

      const last = events[events.length - 1];
      expect(last.event).toBe('end');
      expect(last.data).toMatchObject({ id: opId, status: 'succeeded', progress: 100 });
      expect(events.filter((e) => e.event === 'end')).toHaveLength(1);
    });

    it('should resume a reconnecting client after Last-Event-ID, without the lines it had', async () => {
      const { operation_id: opId } = await start('steps');
      // Reconnect while it runs, as a browser does, having seen lines 1 to 3.
      await eventually(async () => (await logs(opId)).body.lines.length >= 3, 5000);

      const events = await readEvents(await stream(opId, { 'Last-Event-ID': '3' }));

      const lines = events.filter((e) => e.event === 'log');
      expect(lines.map((e) => e.id)).toEqual(['4', '5', '6', '7', '8', '9', '10']);
      expect(lines.map((e) => e.data.text)).toEqual(STEPS_OUTPUT.slice(3));
      expect(events[events.length - 1]).toMatchObject({
        event: 'end',
        data: { status: 'succeeded' },
      });
    });

    it('should replay a finished operation at once: its status, the lines it kept, then end', async () => {
      const events = await readEvents(await stream(finishedOpId));

      expect(events.map((e) => e.event)).toEqual([
        'status',
        ...Array<string>(10).fill('log'),
        'end',
      ]);
      expect(events[0].data).toMatchObject({ id: finishedOpId, status: 'succeeded' });
      // 25 lines were printed and the newest 10 kept: the stream starts at line 16.
      expect(events.slice(1, -1).map((e) => e.id)).toEqual([
        '16',
        '17',
        '18',
        '19',
        '20',
        '21',
        '22',
        '23',
        '24',
        '25',
      ]);
      expect(events[1].data).toMatchObject({ n: 16, stream: 'stdout', text: 'line 16' });
    });

    it('should answer 404 with a JSON error body, not a stream, for an unknown operation', async () => {
      const res = await stream('00000000-0000-0000-0000-000000000000');
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await res.json()) as { error: string }).error).toBe('resource_not_found');
    });

    it('should answer 403 to a key without operations:read', async () => {
      const key = await createKey(t, { permissions: ['deployments:read'] });

      const res = await stream(finishedOpId, bearer(key.secret));

      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await res.json()) as { error: string }).error).toBe('authorization_error');
    });
  });
});
