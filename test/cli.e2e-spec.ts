import { execFile } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { ApiKey } from '../src/auth/api-key.entity';
import { Deployment, DeploymentStatus } from '../src/deployments/deployment.entity';
import { Operation } from '../src/operations/operation.entity';
import { deployAndWait, uniqueService } from './factories/deployments';
import { createKey } from './factories/keys';
import { writeDriversConfig } from './helpers/drivers-config';
import { freePort } from './helpers/server-process';
import { ADMIN_KEY, bearer, eventually, startTestApp, TestApp } from './helpers/test-app';

// The real binary, as `npm run build` leaves it (npm test builds first).
const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(url: string, args: string[], apiKey: string | null = ADMIN_KEY): Promise<CliRun> {
  const env = { ...process.env, FLIGHTDECK_URL: url, FLIGHTDECK_API_KEY: apiKey ?? '' };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('flightdeck CLI (e2e)', () => {
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    const config = writeDriversConfig(`
default: { driver: simulated, duration_ms: 600, fail_versions: "-bad$" }
environments:
  slow: { driver: simulated, duration_ms: 20000 }
  reviewed: { approvals: { required: 1 } }
`);
    t = await startTestApp({ FLIGHTDECK_CONFIG: config });
    await t.app.listen(0, '127.0.0.1');
    const address = t.app.getHttpServer().address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    await t.close();
  });

  describe('deploy --wait', () => {
    it('should exit 0 and report success once the rollout succeeded', async () => {
      const service = uniqueService('cli');
      const run = await cli(url, [
        'deploy',
        '--service',
        service,
        '--version',
        '1.0.0',
        '--env',
        'staging',
        '--wait',
      ]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('succeeded');
      expect(run.stderr).toContain(`Deploying ${service} 1.0.0 to staging`);
      expect(run.stderr).toMatch(/\[succeeded\] 100%/);
      const rows = await t.dataSource.getRepository(Deployment).findBy({ service });
      expect(rows.map((r) => r.status)).toEqual(['successful']);
    });

    it('should exit 1 with the failure reason when the rollout failed', async () => {
      const run = await cli(url, [
        'deploy',
        '--service',
        uniqueService('cli'),
        '--version',
        '2-bad',
        '--env',
        'staging',
        '--wait',
      ]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/failed: driver_failed: Simulated failure/);
    });

    it('should exit 4 when the rollout outlasts --timeout, leaving it running', async () => {
      const service = uniqueService('cli');
      const run = await cli(url, [
        'deploy',
        '--service',
        service,
        '--version',
        '1',
        '--env',
        'slow',
        '--wait',
        '--timeout',
        '1s',
      ]);
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/Timed out after 1s; operation \S+ is still running/);
      const [row] = await t.dataSource.getRepository(Deployment).findBy({ service });
      expect(row.status).toBe('in_progress');
      await t.http().post(`/api/v1/operations/${row.operationId}/cancel`).set(bearer(ADMIN_KEY));
    });

    it('should exit 5 when the rollout is cancelled while it waits', async () => {
      const service = uniqueService('cli');
      const waiting = cli(url, [
        'deploy',
        '--service',
        service,
        '--version',
        '1',
        '--env',
        'slow',
        '--wait',
        '--json',
      ]);
      let operationId = '';
      await eventually(async () => {
        const row = await t.dataSource.getRepository(Deployment).findOneBy({ service });
        operationId = row?.operationId ?? '';
        return row?.status === DeploymentStatus.InProgress;
      });
      await t.http().post(`/api/v1/operations/${operationId}/cancel`).set(bearer(ADMIN_KEY));
      const run = await waiting;
      expect(run.code).toBe(5);
      const result = JSON.parse(run.stdout);
      expect(result.operation.status).toBe('cancelled');
      expect(result.deployment.status).toBe('cancelled');
    });
  });

  describe('exit codes for refusals', () => {
    it('should exit 2 with the server message for invalid input', async () => {
      const run = await cli(url, [
        'deploy',
        '--service',
        'Not A Slug',
        '--version',
        '1',
        '--env',
        'staging',
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/service must be a slug/);
    });

    it('should exit 2 for a usage error', async () => {
      const run = await cli(url, ['deploy', '--service', 'x']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/required option/);
    });

    it('should exit 3 for a bad key and for a missing permission', async () => {
      expect((await cli(url, ['whoami'], 'fdk_wrong')).code).toBe(3);
      expect((await cli(url, ['whoami'], null)).code).toBe(3);
      const readOnly = await createKey(t, { permissions: ['deployments:read'] });
      const run = await cli(
        url,
        ['deploy', '--service', 'x', '--version', '1', '--env', 'staging'],
        readOnly.secret,
      );
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/authorization_error/);
    });

    it('should exit 6 when the server cannot be reached', async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const run = await cli(closed, ['whoami']);
      expect(run.code).toBe(6);
      expect(run.stderr).toMatch(/Cannot reach Flightdeck/);
    }, 30_000);
  });

  describe('retries', () => {
    it('should retry a deploy whose answer was lost with the same Idempotency-Key, deploying once', async () => {
      // A proxy that forwards the first POST but answers the client 502, as a flaky load balancer would.
      const port = await freePort();
      let posts = 0;
      const keys: string[] = [];
      const proxy = createServer((req, res) => {
        const target = new URL(url);
        const forward = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
          },
          (upstream) => {
            if (req.method === 'POST' && ++posts === 1) {
              upstream.resume();
              res.writeHead(502).end('bad gateway');
              return;
            }
            res.writeHead(upstream.statusCode ?? 500, upstream.headers);
            upstream.pipe(res);
          },
        );
        if (req.method === 'POST') keys.push(String(req.headers['idempotency-key']));
        req.pipe(forward);
      });
      await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
      try {
        const service = uniqueService('retry');
        const run = await cli(`http://127.0.0.1:${port}`, [
          'deploy',
          '--service',
          service,
          '--version',
          '1',
          '--env',
          'staging',
          '--json',
        ]);
        expect(run.code).toBe(0);
        expect(run.stderr).toMatch(/retrying: server answered 502/);
        expect(keys).toHaveLength(2);
        expect(keys[0]).toBe(keys[1]);
        expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(1);
      } finally {
        proxy.close();
      }
    });
  });

  describe('other commands', () => {
    it('should roll back, show status, list, print logs and wait', async () => {
      const service = uniqueService('cmds');
      await cli(url, [
        'deploy',
        '--service',
        service,
        '--version',
        '1',
        '--env',
        'staging',
        '--wait',
      ]);
      const second = JSON.parse(
        (
          await cli(url, [
            'deploy',
            '--service',
            service,
            '--version',
            '2',
            '--env',
            'staging',
            '--wait',
            '--json',
          ])
        ).stdout,
      );

      const rollback = await cli(url, [
        'rollback',
        second.deployment.id,
        '--reason',
        'bad',
        '--wait',
        '--json',
      ]);
      expect(rollback.code).toBe(0);
      const rolled = JSON.parse(rollback.stdout);
      expect(rolled.operation.status).toBe('succeeded');

      const status = await cli(url, ['status', second.deployment.id, '--json']);
      expect(JSON.parse(status.stdout).status).toBe('rolled_back');
      const opStatus = await cli(url, ['status', rolled.operation.id]);
      expect(opStatus.stdout).toContain('deployment.rollback');
      expect((await cli(url, ['status', 'nope'])).code).toBe(2);

      const list = await cli(url, ['list', '--service', service]);
      expect(list.stdout.split('\n').filter((l) => l.includes(service))).toHaveLength(3);
      const firstTwo = await cli(url, ['list', '--service', service, '--per-page', '2']);
      expect(firstTwo.stdout).toContain('(2 of 3, page 1)');
      const cursor = /add --cursor (\S+)/.exec(firstTwo.stdout)?.[1];
      expect(cursor).toBeDefined();
      const rest = await cli(url, [
        'list',
        '--service',
        service,
        '--per-page',
        '2',
        '--cursor',
        cursor!,
      ]);
      expect(rest.code).toBe(0);
      expect(rest.stdout.split('\n').filter((l) => l.includes(service))).toHaveLength(1);
      expect(rest.stdout).not.toContain('--cursor');

      const logs = await cli(url, ['logs', second.operation.id]);
      expect(logs.stdout).toContain(`Rolling out ${service} 2 to staging (simulated)`);

      const wait = await cli(url, ['wait', second.operation.id]);
      expect(wait.code).toBe(0);
    });

    it('should create, list and revoke keys, and say who am I', async () => {
      const created = await cli(url, [
        'keys',
        'create',
        '--name',
        'from-cli',
        '--permissions',
        'deployments:read',
        '--environments',
        'staging',
        '--json',
      ]);
      expect(created.code).toBe(0);
      const key = JSON.parse(created.stdout);
      expect(key.secret).toMatch(/^fdk_/);
      expect((await cli(url, ['whoami'], key.secret)).stdout).toContain('from-cli');
      expect((await cli(url, ['keys', 'list'])).stdout).toContain(key.id);
      expect((await cli(url, ['keys', 'revoke', key.id])).code).toBe(0);
      expect((await cli(url, ['whoami'], key.secret)).code).toBe(3);
    });
  });

  describe('guardrails', () => {
    const deployer = () =>
      createKey(t, {
        permissions: ['deployments:read', 'deployments:create', 'operations:read'],
      });

    it('should lock, show the lock, block another key with exit 7 naming the lock, and unlock', async () => {
      const service = uniqueService('cli-lock');
      const locked = await cli(url, [
        '--json',
        'lock',
        '--env',
        'staging',
        '--service',
        service,
        '--reason',
        'load test',
        '--expires',
        '2h',
      ]);
      expect(locked.code).toBe(0);
      const lock = JSON.parse(locked.stdout) as { id: string; expires_at: string };
      expect(Date.parse(lock.expires_at) - Date.now()).toBeGreaterThan(3_500_000);

      expect((await cli(url, ['locks', '--env', 'staging'])).stdout).toContain(
        `${lock.id}  ${service} @ staging`,
      );
      const other = await deployer();
      const args = ['deploy', '--service', service, '--version', '1', '--env', 'staging'];
      const dry = await cli(url, [...args, '--dry-run'], other.secret);
      expect(dry.code).toBe(7);
      expect(dry.stdout).toMatch(/✘ lock: .*load test/);
      const blocked = await cli(url, args, other.secret);
      expect(blocked.code).toBe(7);
      expect(blocked.stderr).toMatch(/deployment_blocked[\s\S]*- lock: .*load test/);
      expect(await t.dataSource.getRepository(Deployment).countBy({ service })).toBe(0);

      expect((await cli(url, ['unlock', lock.id])).stdout).toContain(`Released lock ${lock.id}`);
      const afterwards = await cli(url, [...args, '--dry-run'], other.secret);
      expect(afterwards.code).toBe(0);
      expect(afterwards.stdout).toMatch(/✔ lock: /);
    });

    it('should deploy through a lock with --override-reason and keep the reason', async () => {
      const service = uniqueService('cli-override');
      const other = await createKey(t, { permissions: ['locks:manage'] });
      await cli(
        url,
        ['lock', '--env', 'staging', '--service', service, '--reason', 'mine'],
        other.secret,
      );
      const run = await cli(url, [
        '--json',
        'deploy',
        '--service',
        service,
        '--version',
        '1',
        '--env',
        'staging',
        '--override-reason',
        'hotfix INC-1',
      ]);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ service, override_reason: 'hotfix INC-1' });
    });

    it('should create a freeze that blocks rollouts, report it in status, list and delete it', async () => {
      const service = uniqueService('cli-freeze');
      const ends = new Date(Date.now() + 3_600_000).toISOString();
      const created = await cli(url, [
        '--json',
        'freeze',
        'create',
        '--name',
        'release night',
        '--env',
        'staging',
        '--service',
        service,
        '--ends-at',
        ends,
      ]);
      expect(created.code).toBe(0);
      const { id } = JSON.parse(created.stdout) as { id: string };

      const status = await cli(url, ['freeze', 'status', '--env', 'staging', '--service', service]);
      expect(status.stdout).toContain(`Frozen (changes at ${ends})`);
      expect((await cli(url, ['freeze', 'list'])).stdout).toContain(`${id}  release night`);
      const dry = await cli(url, [
        'deploy',
        '--service',
        service,
        '--version',
        '1',
        '--env',
        'staging',
        '--dry-run',
      ]);
      expect(dry.code).toBe(7);
      expect(dry.stdout).toMatch(/✘ freeze: .*release night/);

      expect((await cli(url, ['freeze', 'delete', id])).code).toBe(0);
      const thawed = await cli(url, ['freeze', 'status', '--env', 'staging', '--service', service]);
      expect(thawed.stdout).toContain('Not frozen');
    });

    it('should refuse a recurring freeze with a bad cron with exit 2 naming the field', async () => {
      const run = await cli(url, [
        'freeze',
        'create',
        '--name',
        'bad',
        '--env',
        'staging',
        '--cron',
        '61 * * * *',
        '--duration',
        '1h',
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/validation_error[\s\S]*cron/);
    });

    it('should show what runs where with state', async () => {
      const service = uniqueService('cli-state');
      await deployAndWait(t, { service, version: '1.0.0', environment: 'staging' });
      await deployAndWait(t, { service, version: '1.1.0', environment: 'staging' });
      const run = await cli(url, ['state', '--service', service]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${service} @ staging: 1.1.0 (before: 1.0.0)`);
      expect(run.stdout).toContain('(1 of 1, page 1)');
    });
  });

  describe('approvals', () => {
    const keys = async () => ({
      requester: await createKey(t, {
        permissions: ['deployments:read', 'deployments:create', 'operations:read'],
      }),
      reviewer: await createKey(t, { permissions: ['deployments:read', 'deployments:approve'] }),
    });
    const deployWaiting = (service: string, secret: string) =>
      cli(
        url,
        ['deploy', '--service', service, '--version', '1', '--env', 'reviewed', '--wait'],
        secret,
      );
    const awaiting = (service: string) =>
      eventually(async () => {
        const [row] = await t.dataSource.getRepository(Deployment).findBy({ service });
        return row?.status === DeploymentStatus.AwaitingApproval;
      });

    it('should wait for approvals, list the deployment for a reviewer, and roll out once approved', async () => {
      const { requester, reviewer } = await keys();
      const service = uniqueService('cli-approve');
      const deploying = deployWaiting(service, requester.secret);
      await awaiting(service);
      const [row] = await t.dataSource.getRepository(Deployment).findBy({ service });

      const listed = await cli(url, ['approvals'], reviewer.secret);
      expect(listed.stdout).toContain(`${row.id}  ${service} 1 → reviewed`);
      expect(listed.stdout).toContain('0/1 approvals');
      const approved = await cli(url, ['approve', row.id, '--comment', 'lgtm'], reviewer.secret);
      expect(approved.code).toBe(0);
      expect(approved.stdout).toContain(
        `Approved (1/1); the rollout starts: operation ${row.operationId}`,
      );

      const run = await deploying;
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('waiting for approvals (0/1)');
      expect(run.stdout).toContain('succeeded');
    });

    it("should exit 7 with the reviewer's comment when the deployment is rejected", async () => {
      const { requester, reviewer } = await keys();
      const service = uniqueService('cli-reject');
      const deploying = deployWaiting(service, requester.secret);
      await awaiting(service);
      const [row] = await t.dataSource.getRepository(Deployment).findBy({ service });

      expect((await cli(url, ['reject', row.id], reviewer.secret)).code).toBe(2);
      const rejected = await cli(
        url,
        ['reject', row.id, '--comment', 'not on a Friday'],
        reviewer.secret,
      );
      expect(rejected.code).toBe(0);

      const run = await deploying;
      expect(run.code).toBe(7);
      expect(run.stderr).toMatch(/was rejected: Rejected by .*: not on a Friday/);
    });
  });

  describe('text from the server', () => {
    // Stored before the server refused such text, or written by a deploy script: ESC starts a
    // terminal command (here: clear the screen), U+202E turns what follows around, U+009B is CSI.
    const HOSTILE = 'name\u001b[2J\u001b]0;pwned\u0007\u202eexe.txt\u009b1m';
    const SHOWN = 'name\\u001b[2J\\u001b]0;pwned\\u0007\\u202eexe.txt\\u009b1m';
    // eslint-disable-next-line no-control-regex -- what must not reach the terminal (tab and newline may)
    const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

    it('should print control characters stored in a key name escaped, as text and as JSON', async () => {
      const key = await createKey(t, { permissions: ['deployments:read'] });
      await t.dataSource.getRepository(ApiKey).update({ id: key.id }, { name: HOSTILE });

      const listed = await cli(url, ['keys', 'list']);
      const json = await cli(url, ['keys', 'list', '--json']);

      expect(listed.code).toBe(0);
      expect(listed.stdout).not.toMatch(RAW);
      expect(listed.stdout.split('\n').find((line) => line.startsWith(key.id))).toContain(SHOWN);
      expect(json.stdout).not.toMatch(RAW);
      const shownAs = (JSON.parse(json.stdout) as Array<{ id: string; name: string }>).find(
        (k) => k.id === key.id,
      )?.name;
      expect(shownAs).toBe(SHOWN);
    });

    it("should print an operation's message and error escaped", async () => {
      const deployment = await deployAndWait(t, { service: uniqueService('cli'), version: '1' });
      await t.dataSource
        .getRepository(Operation)
        .update(
          { id: deployment.operation_id },
          { message: HOSTILE, errorCode: 'x', errorMessage: `boom ${HOSTILE}` },
        );

      const status = await cli(url, ['status', deployment.operation_id]);

      expect(status.code).toBe(0);
      expect(status.stdout).not.toMatch(RAW);
      expect(status.stdout).toContain(`  ${SHOWN}`);
      expect(status.stdout).toContain(`error x: boom ${SHOWN}`);
    });
  });
});
