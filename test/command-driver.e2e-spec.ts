import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deployAndWait, requestDeployment, uniqueService } from './factories/deployments';
import { writeDriversConfig } from './helpers/drivers-config';
import {
  ADMIN_KEY,
  bearer,
  eventually,
  startTestApp,
  TestApp,
  waitForOperation,
} from './helpers/test-app';

const FIXTURES = join(__dirname, 'fixtures');
const fixture = (name: string) => JSON.stringify(join(FIXTURES, name));
const HOOK_SECRET = `hook-secret-${randomBytes(8).toString('hex')}`;

interface LogLine {
  n: number;
  at: string;
  stream: string;
  text: string;
}

describe('command driver (e2e)', () => {
  let t: TestApp;
  let configDir: string;
  /** Where the long-running fixtures write their pid, one file per deployment. */
  const pidDir = mkdtempSync(join(tmpdir(), 'fd-pids-'));

  beforeAll(async () => {
    const config = writeDriversConfig(`
environments:
  talk:      { driver: command, command: [${fixture('command-ok.sh')}] }
  env:       { driver: command, command: [${fixture('print-env.js')}] }
  broken:    { driver: command, command: [${fixture('exit-code.sh')}, "3"] }
  hang:      { driver: command, command: [${fixture('sleep-with-pid.sh')}, ${JSON.stringify(pidDir)}], timeout_seconds: 1, kill_grace_seconds: 5 }
  long:      { driver: command, command: [${fixture('sleep-with-pid.sh')}, ${JSON.stringify(pidDir)}], kill_grace_seconds: 5 }
  stubborn:  { driver: command, command: [${fixture('ignore-term.sh')}, ${JSON.stringify(pidDir)}], kill_grace_seconds: 1 }
  missing:   { driver: command, command: ["/nonexistent/flightdeck-deploy-${randomBytes(4).toString('hex')}"] }
  relative:  { driver: command, command: ["./deploy.sh", "--fast", "two words"] }
  hook:      { driver: webhook, url: "http://127.0.0.1:1/hook", secret_env: DEPLOY_HOOK_SECRET }
`);
    configDir = dirname(config);
    // The drivers file names ./deploy.sh: it must be found beside the file, not in the cwd.
    copyFileSync(join(FIXTURES, 'relative-deploy.sh'), join(configDir, 'deploy.sh'));
    // The webhook driver's secret, in Flightdeck's environment the way a real deployment sets it.
    process.env.DEPLOY_HOOK_SECRET = HOOK_SECRET;
    t = await startTestApp({ FLIGHTDECK_CONFIG: config });
  });

  afterAll(async () => {
    await t?.close();
    delete process.env.DEPLOY_HOOK_SECRET;
    rmSync(pidDir, { recursive: true, force: true });
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  const getOp = async (id: string) =>
    (await t.http().get(`/api/v1/operations/${id}`).set(bearer(ADMIN_KEY))).body;
  const getDeployment = async (id: string) =>
    (await t.http().get(`/api/v1/deployments/${id}`).set(bearer(ADMIN_KEY))).body;
  const cancel = (id: string) =>
    t.http().post(`/api/v1/operations/${id}/cancel`).set(bearer(ADMIN_KEY));
  const logsOf = async (operationId: string): Promise<LogLine[]> => {
    const res = await t.http().get(`/api/v1/operations/${operationId}/logs`).set(bearer(ADMIN_KEY));
    expect(res.status).toBe(200);
    return res.body.lines;
  };
  /** The `NAME=value` lines print-env.js printed, as a map. */
  const printedEnv = async (operationId: string): Promise<Record<string, string>> =>
    Object.fromEntries(
      (await logsOf(operationId)).map((l) => {
        const at = l.text.indexOf('=');
        return [l.text.slice(0, at), l.text.slice(at + 1)];
      }),
    );
  /** Waits for a long-running fixture to write its pid file and returns the pid. */
  const pidOf = async (deploymentId: string): Promise<number> => {
    const file = join(pidDir, `${deploymentId}.pid`);
    await eventually(
      async () => Promise.resolve(existsSync(file) && readFileSync(file, 'utf8').trim() !== ''),
      10000,
    );
    return Number(readFileSync(file, 'utf8').trim());
  };
  const isAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  describe('a command that exits 0', () => {
    it('should succeed, show its ::progress and ::message while running, and keep every line in order', async () => {
      const service = uniqueService('talk');
      const created = await requestDeployment(t, {
        service,
        version: '2.1.0',
        environment: 'talk',
      });
      expect(created.status).toBe(201);
      const opId = created.body.operation_id;

      await eventually(async () => {
        const op = await getOp(opId);
        return op.status === 'running' && op.progress === 40 && op.message === 'Migrating database';
      }, 5000);

      const op = await waitForOperation(t, opId);
      expect(op).toMatchObject({ status: 'succeeded', progress: 100, error: null });
      expect(await getDeployment(created.body.id)).toMatchObject({
        status: 'successful',
        version: '2.1.0',
      });

      const lines = await logsOf(opId);
      expect(lines.map(({ n, stream, text }) => ({ n, stream, text }))).toEqual([
        { n: 1, stream: 'stdout', text: `Deploying ${service} 2.1.0 to talk` },
        { n: 2, stream: 'stderr', text: 'warning: cache is cold' },
        { n: 3, stream: 'stdout', text: '::progress 40' },
        { n: 4, stream: 'stdout', text: '::message Migrating database' },
        { n: 5, stream: 'stdout', text: 'Done' },
      ]);
      for (const line of lines) expect(new Date(line.at).toISOString()).toBe(line.at);
      expect(lines[0].at <= lines[4].at).toBe(true);
    });
  });

  describe('the command environment', () => {
    const hidden = { FLIGHTDECK_ADMIN_KEY: ADMIN_KEY, FD_E2E_CANARY: 'inherited' };
    const saved: Record<string, string | undefined> = {};

    beforeAll(() => {
      // Set the way a real deployment sets them: in Flightdeck's own environment.
      Object.assign(hidden, {
        DATABASE_URL: t.database.url,
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      });
      for (const [name, value] of Object.entries(hidden)) {
        saved[name] = process.env[name];
        process.env[name] = value;
      }
    });

    afterAll(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('should pass the deployment in FLIGHTDECK_* variables and hide Flightdeck’s own settings', async () => {
      const service = uniqueService('env');
      const first = await deployAndWait(t, { service, version: '1.0.0', environment: 'env' });
      const second = await deployAndWait(t, { service, version: '2.0.0', environment: 'env' });
      expect(first.status).toBe('successful');
      expect(second.status).toBe('successful');

      const firstEnv = await printedEnv(first.operation_id);
      expect(firstEnv).toMatchObject({
        FLIGHTDECK_DEPLOYMENT_ID: first.id,
        FLIGHTDECK_SERVICE: service,
        FLIGHTDECK_VERSION: '1.0.0',
        FLIGHTDECK_ENVIRONMENT: 'env',
        FLIGHTDECK_OPERATION: 'rollout',
        FLIGHTDECK_PREVIOUS_VERSION: '',
        FD_E2E_CANARY: 'inherited',
      });
      expect(await printedEnv(second.operation_id)).toMatchObject({
        FLIGHTDECK_DEPLOYMENT_ID: second.id,
        FLIGHTDECK_VERSION: '2.0.0',
        FLIGHTDECK_OPERATION: 'rollout',
        FLIGHTDECK_PREVIOUS_VERSION: '1.0.0',
      });
      for (const name of ['DATABASE_URL', 'REDIS_URL', 'FLIGHTDECK_ADMIN_KEY']) {
        expect(firstEnv).not.toHaveProperty(name);
      }
      const everything = (await logsOf(second.operation_id)).map((l) => l.text).join('\n');
      expect(everything).not.toContain(ADMIN_KEY);
      expect(everything).not.toContain(t.database.url);
    });

    it('should not pass a variable that a webhook driver of another environment keeps its secret in', async () => {
      const done = await deployAndWait(t, {
        service: uniqueService('secret'),
        version: '1',
        environment: 'env',
      });

      expect(done.status).toBe('successful');
      const printed = await printedEnv(done.operation_id);
      expect(printed).toHaveProperty('FD_E2E_CANARY', 'inherited');
      expect(printed).not.toHaveProperty('DEPLOY_HOOK_SECRET');
      const everything = (await logsOf(done.operation_id)).map((l) => l.text).join('\n');
      expect(everything).not.toContain(HOOK_SECRET);
    });

    it('should run a rollback with FLIGHTDECK_OPERATION=rollback and the rolled-back version as previous', async () => {
      const service = uniqueService('envrb');
      await deployAndWait(t, { service, version: '1.0.0', environment: 'env' });
      const v2 = await deployAndWait(t, { service, version: '2.0.0', environment: 'env' });

      const rb = await t
        .http()
        .post(`/api/v1/deployments/${v2.id}/rollback`)
        .set(bearer(ADMIN_KEY))
        .send({});
      expect(rb.status).toBe(202);
      const op = await waitForOperation(t, rb.body.operation_id);
      expect(op).toMatchObject({ type: 'deployment.rollback', status: 'succeeded' });

      expect(await printedEnv(rb.body.operation_id)).toMatchObject({
        FLIGHTDECK_DEPLOYMENT_ID: rb.body.rollback_id,
        FLIGHTDECK_SERVICE: service,
        FLIGHTDECK_VERSION: '1.0.0',
        FLIGHTDECK_ENVIRONMENT: 'env',
        FLIGHTDECK_OPERATION: 'rollback',
        FLIGHTDECK_PREVIOUS_VERSION: '2.0.0',
      });
    });

    it('should pass a version full of shell metacharacters verbatim and execute none of it', async () => {
      const marker = join(tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
      const version = `1.0;touch\${IFS}${marker} && $(touch ${marker}) | \`touch ${marker}\` 'x"`;
      expect(version.length).toBeLessThanOrEqual(128);

      const done = await deployAndWait(t, {
        service: uniqueService('meta'),
        version,
        environment: 'env',
      });

      expect(done).toMatchObject({ status: 'successful', version });
      expect((await printedEnv(done.operation_id)).FLIGHTDECK_VERSION).toBe(version);
      expect(existsSync(marker)).toBe(false);
    });
  });

  describe('a command that exits non-zero', () => {
    it('should fail with command_failed, the exit code and the last lines of output', async () => {
      const created = await requestDeployment(t, {
        service: uniqueService('exit'),
        version: '3',
        environment: 'broken',
      });
      const op = await waitForOperation(t, created.body.operation_id);

      expect(op.status).toBe('failed');
      expect(op.error.code).toBe('command_failed');
      expect(op.error.message).toContain('exited with code 3');
      expect(op.error.message).toContain('output line 15');
      expect(op.error.message).toContain('fatal: migration 0042 failed');
      // Only the last lines: the start of a long output is left out.
      expect(op.error.message).not.toMatch(/^output line 2$/m);
      expect(await getDeployment(created.body.id)).toMatchObject({ status: 'failed' });

      const lines = await logsOf(created.body.operation_id);
      expect(lines).toHaveLength(16);
      expect(lines[15]).toMatchObject({
        n: 16,
        stream: 'stderr',
        text: 'fatal: migration 0042 failed',
      });
    });
  });

  describe('timeout_seconds', () => {
    it('should stop a command that runs too long and fail with code timeout within seconds', async () => {
      const started = Date.now();
      const created = await requestDeployment(t, {
        service: uniqueService('slow'),
        version: '1',
        environment: 'hang',
      });
      const pid = await pidOf(created.body.id);

      const op = await waitForOperation(t, created.body.operation_id, ADMIN_KEY, 10000);

      expect(Date.now() - started).toBeLessThan(5000);
      expect(op.status).toBe('failed');
      expect(op.error.code).toBe('timeout');
      expect(op.error.message).toContain('within 1s');
      expect(isAlive(pid)).toBe(false);
      expect(await getDeployment(created.body.id)).toMatchObject({ status: 'failed' });
      const texts = (await logsOf(created.body.operation_id)).map((l) => l.text);
      expect(texts).not.toContain('woke up');
    });
  });

  describe('POST /api/v1/operations/{id}/cancel', () => {
    it('should stop the running command with SIGTERM and end cancelled, its process gone', async () => {
      const created = await requestDeployment(t, {
        service: uniqueService('cancel'),
        version: '1',
        environment: 'long',
      });
      const opId = created.body.operation_id;
      const pid = await pidOf(created.body.id);
      expect(isAlive(pid)).toBe(true);
      expect((await getOp(opId)).status).toBe('running');

      const cancelledAt = Date.now();
      const res = await cancel(opId);
      expect(res.status).toBe(202);
      const op = await waitForOperation(t, opId, ADMIN_KEY, 10000);

      expect(op.status).toBe('cancelled');
      // SIGTERM was enough: it ended well before the 5 s grace period would have sent SIGKILL.
      expect(Date.now() - cancelledAt).toBeLessThan(4000);
      expect(isAlive(pid)).toBe(false);
      expect(await getDeployment(created.body.id)).toMatchObject({ status: 'cancelled' });
      const lines = await logsOf(opId);
      expect(lines.map((l) => l.text)).not.toContain('woke up');
      expect(lines.some((l) => l.stream === 'system' && /SIGTERM/.test(l.text))).toBe(true);
      expect(lines.some((l) => /SIGKILL/.test(l.text))).toBe(false);
    });

    it('should SIGKILL a command that ignores SIGTERM once kill_grace_seconds have passed', async () => {
      const created = await requestDeployment(t, {
        service: uniqueService('stubborn'),
        version: '1',
        environment: 'stubborn',
      });
      const opId = created.body.operation_id;
      const pid = await pidOf(created.body.id);

      const cancelledAt = Date.now();
      expect((await cancel(opId)).status).toBe(202);
      const op = await waitForOperation(t, opId, ADMIN_KEY, 10000);
      const took = Date.now() - cancelledAt;

      expect(op.status).toBe('cancelled');
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(5000);
      expect(isAlive(pid)).toBe(false);
      const system = (await logsOf(opId)).filter((l) => l.stream === 'system').map((l) => l.text);
      expect(system.some((text) => /SIGTERM/.test(text))).toBe(true);
      expect(system.some((text) => /still running after 1s: sending SIGKILL/.test(text))).toBe(
        true,
      );
    });
  });

  describe('a command that cannot be started', () => {
    it("should fail with command_failed 'Could not start' when the program does not exist", async () => {
      const created = await requestDeployment(t, {
        service: uniqueService('nope'),
        version: '1',
        environment: 'missing',
      });
      const op = await waitForOperation(t, created.body.operation_id);

      expect(op.status).toBe('failed');
      expect(op.error.code).toBe('command_failed');
      expect(op.error.message).toMatch(/^Could not start \/nonexistent\/flightdeck-deploy-/);
      expect(op.error.message).toContain('ENOENT');
      expect(await getDeployment(created.body.id)).toMatchObject({ status: 'failed' });
    });
  });

  describe('relative command paths', () => {
    it('should resolve ./deploy.sh against the drivers file’s folder and run there, arguments intact', async () => {
      const done = await deployAndWait(t, {
        service: uniqueService('rel'),
        version: '1',
        environment: 'relative',
      });

      expect(done.status).toBe('successful');
      expect((await logsOf(done.operation_id)).map((l) => l.text)).toEqual([
        'relative deploy ran with: [--fast] [two words]',
        `cwd=${realpathSync(configDir)}`,
      ]);
    });
  });
});
