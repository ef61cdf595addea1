import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Deployment } from '../src/deployments/deployment.entity';
import { requestDeployment, uniqueService } from './factories/deployments';
import { ADMIN_KEY, bearer, startTestApp, TestApp } from './helpers/test-app';

const TIMEOUT_MS = 1000;
/** Long enough for any cut at the limit on a loaded machine; far short of Node's own 5 minutes. */
const GIVE_UP_MS = 3 * TIMEOUT_MS;

interface Exchange {
  /** Whether the server closed the connection before the client gave up waiting. */
  closed: boolean;
  received: string;
}

/** Sends `head` and never the rest; waits for the server to close the connection, up to GIVE_UP_MS. */
function stall(port: number, head: string): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received });
    }, GIVE_UP_MS);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined); // a reset is a close too
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ closed: true, received });
    });
    socket.write(head);
  });
}

/** The status and JSON body of a raw HTTP/1.1 answer. */
function parse(raw: string): { status: number; headers: string; body: Record<string, unknown> } {
  const [headers, body] = raw.split('\r\n\r\n');
  return {
    status: Number(headers.split(' ')[1]),
    headers: headers.toLowerCase(),
    body: JSON.parse(body) as Record<string, unknown>,
  };
}

describe(`Requests sent too slowly, FLIGHTDECK_REQUEST_TIMEOUT_MS=${TIMEOUT_MS} (e2e)`, () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({
      FLIGHTDECK_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
      FLIGHTDECK_SIMULATED_DURATION_MS: '20000',
    });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });

  afterAll(async () => {
    await t.close();
  });

  it('should cut a body that stops half way with 400 validation_error and close the connection, creating nothing', async () => {
    const service = uniqueService('slow');
    const body = JSON.stringify({ service, version: '1', environment: 'staging' });
    const head =
      'POST /api/v1/deployments HTTP/1.1\r\nHost: flightdeck\r\n' +
      `Authorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body.slice(0, body.length / 2)}`;

    const exchange = await stall(port, head);

    expect(exchange.closed).toBe(true);
    const answer = parse(exchange.received);
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain('connection: close');
    expect(answer.body).toMatchObject({
      error: 'validation_error',
      message: `The request was not received in full within ${TIMEOUT_MS} ms (FLIGHTDECK_REQUEST_TIMEOUT_MS)`,
    });
    expect(answer.body.request_id).toEqual(expect.any(String));
    expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(0);
  });

  it('should cut headers that never end the same way', async () => {
    const exchange = await stall(port, 'GET /api/v1/deployments HTTP/1.1\r\nHost: flightdeck\r\n');

    expect(exchange.closed).toBe(true);
    expect(parse(exchange.received)).toMatchObject({
      status: 400,
      body: { error: 'validation_error' },
    });
  });

  it('should not cut an answer that takes longer than the limit once the request is in (a long-poll)', async () => {
    const created = await requestDeployment(t, { service: uniqueService('slow'), version: '1' });
    const operation = `/api/v1/operations/${created.body.operation_id}`;

    const polled = await t.http().get(`${operation}?wait=2`).set(bearer(ADMIN_KEY));

    expect(polled.status).toBe(200);
    expect(polled.body.status).toBe('running');
    await t.http().post(`${operation}/cancel`).set(bearer(ADMIN_KEY));
  });
});
