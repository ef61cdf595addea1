import { writeFileSync } from 'node:fs';
import { uniqueService } from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import { ServerProcess, startServerProcess } from './helpers/server-process';
import { ADMIN_KEY, eventually } from './helpers/test-app';
import { createTestDatabase, TestDatabase } from './helpers/test-database';

describe('drivers file reload on SIGHUP (e2e, a real server process)', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let config: string;

  const deploy = async (version: string) => {
    const res = await fetch(`${server.base}/api/v1/deployments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ service: uniqueService('reload'), version, environment: 'staging' }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    let status = 'pending';
    await eventually(async () => {
      const got = await fetch(`${server.base}/api/v1/deployments/${id}`, {
        headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      });
      ({ status } = (await got.json()) as { status: string });
      return status !== 'pending' && status !== 'in_progress';
    });
    return status;
  };
  const logged = (pattern: RegExp) =>
    eventually(() => Promise.resolve(pattern.test(server.output())));

  beforeAll(async () => {
    db = await createTestDatabase();
    config = writeDriversConfig('default: { driver: simulated, duration_ms: 50 }\n');
    server = await startServerProcess({ ...db.env, FLIGHTDECK_CONFIG: config });
  });

  afterAll(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    await db.drop();
  });

  it('should use the new file after SIGHUP, and keep it when the next one is bad', async () => {
    expect(await deploy('1.0.0-x')).toBe('successful');

    writeFileSync(
      config,
      'default: { driver: simulated, duration_ms: 50, fail_versions: "-x$" }\n',
    );
    server.child.kill('SIGHUP');
    await logged(/Reloaded .*flightdeck\.yaml/);
    expect(await deploy('1.0.1-x')).toBe('failed');

    writeFileSync(config, 'environments:\n  production: { requires: [production] }\n');
    server.child.kill('SIGHUP');
    await logged(
      /Kept the drivers file loaded before: .*environments\.production\.requires names the environment itself/,
    );
    expect(server.child.exitCode).toBeNull();
    expect(await deploy('1.0.2-x')).toBe('failed');
    expect(await deploy('1.0.2')).toBe('successful');
  });
});
