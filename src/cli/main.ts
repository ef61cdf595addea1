#!/usr/bin/env node
// The `flightdeck` command: deploy, roll back and follow rollouts from a pipeline or a terminal.
import { Command, CommanderError, Option } from 'commander';
import type { components } from './api-schema';
import { createFlightdeckClient, FlightdeckClient, unwrap } from './client';
import { CliError, ExitCode } from './exit-codes';
import { exitCodeFor, followOperation, parseDuration } from './follow';

type Deployment = components['schemas']['DeploymentResponseDto'];
type Operation = components['schemas']['OperationResponseDto'];
type Lock = components['schemas']['LockResponseDto'];
type Freeze = components['schemas']['FreezeResponseDto'];

interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

const program = new Command('flightdeck')
  .description('Deploy services, follow rollouts and roll back, through a Flightdeck server.')
  .addOption(
    new Option('--url <url>', 'Flightdeck server')
      .env('FLIGHTDECK_URL')
      .default('http://localhost:3000'),
  )
  .addOption(new Option('--api-key <secret>', 'API key secret').env('FLIGHTDECK_API_KEY'))
  .option('--json', 'print results as JSON (for scripts)')
  .showHelpAfterError()
  .exitOverride();

const globals = () => program.opts<GlobalOptions>();
const print = (line: string) => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

function client(): FlightdeckClient {
  const { url, apiKey } = globals();
  if (!apiKey)
    throw new CliError('No API key: set FLIGHTDECK_API_KEY or pass --api-key', ExitCode.Auth);
  return createFlightdeckClient(url, apiKey, (why) => note(`retrying: ${why}`));
}

function output(value: unknown, human: () => string): void {
  print(globals().json ? JSON.stringify(value, null, 2) : human());
}

const describeDeployment = (d: Deployment) =>
  `${d.id}  ${d.service} ${d.version} → ${d.environment}  ${d.status}` +
  `${d.duration_seconds !== null ? ` (${d.duration_seconds}s)` : ''}${d.rollback_of ? `  rollback of ${d.rollback_of}` : ''}`;

const describeOperation = (o: Operation) =>
  `${o.id}  ${o.type}  ${o.status} ${o.progress}%${o.message ? `  ${o.message}` : ''}` +
  `${o.error ? `\n  error ${o.error.code}: ${o.error.message}` : ''}`;

/** Follows an operation to its end and sets the exit code from its outcome. */
async function waitFor(
  api: FlightdeckClient,
  operationId: string,
  options: { timeout: string; logs: boolean },
) {
  const operation = await followOperation(api, operationId, {
    timeoutMs: parseDuration(options.timeout),
    logs: options.logs,
    tty: Boolean(process.stderr.isTTY) && !globals().json,
    out: process.stderr,
  });
  process.exitCode = exitCodeFor(operation);
  return operation;
}

function outcomeLine(operation: Operation): string {
  if (operation.status === 'succeeded') return `✔ succeeded`;
  if (operation.status === 'cancelled') return `✘ cancelled`;
  return `✘ failed${operation.error ? `: ${operation.error.code}: ${operation.error.message}` : ''}`;
}

program
  .command('deploy')
  .description('Deploy a version of a service to an environment')
  .requiredOption('--service <name>', 'service to deploy')
  .requiredOption('--version <version>', 'version to deploy')
  .requiredOption('--env <environment>', 'environment to deploy to')
  .option('--description <text>', 'why, for the record')
  .option(
    '--dry-run',
    'only ask the gates (lock, freeze, …) whether it may deploy now; exit 7 if not',
  )
  .option(
    '--override-reason <text>',
    'pass the lock, freeze and promotion gates (deployments:override)',
  )
  .option('--wait', 'follow the rollout until it ends; exit code says how it ended')
  .option('--timeout <duration>', 'with --wait: give up after this long (exit 4)', '10m')
  .action(
    async (opts: {
      service: string;
      version: string;
      env: string;
      description?: string;
      dryRun?: boolean;
      overrideReason?: string;
      wait?: boolean;
      timeout: string;
    }) => {
      const api = client();
      const request = {
        service: opts.service,
        version: opts.version,
        environment: opts.env,
        override: overrideOf(opts.overrideReason),
      };
      if (opts.dryRun) return preflight(api, request);
      const deployment = unwrap(
        await api.POST('/api/v1/deployments', {
          body: { ...request, description: opts.description },
        }),
      );
      if (!opts.wait) return output(deployment, () => describeDeployment(deployment));
      note(
        `Deploying ${deployment.service} ${deployment.version} to ${deployment.environment}: deployment ${deployment.id}`,
      );
      const deadline = Date.now() + parseDuration(opts.timeout);
      await waitForApprovals(api, deployment, deadline);
      const operation = await waitFor(api, deployment.operation_id, {
        timeout: `${Math.max(0, deadline - Date.now())}ms`,
        logs: true,
      });
      output({ deployment: await getDeployment(api, deployment.id), operation }, () =>
        outcomeLine(operation),
      );
    },
  );

program
  .command('rollback')
  .description('Roll a deployment back to the last version that succeeded before it')
  .argument('<deployment-id>')
  .option('--reason <text>', 'why, for the record')
  .option('--override-reason <text>', 'pass a lock (deployments:override)')
  .option('--wait', 'follow the rollback until it ends')
  .option('--timeout <duration>', 'with --wait: give up after this long (exit 4)', '10m')
  .action(
    async (
      id: string,
      opts: { reason?: string; overrideReason?: string; wait?: boolean; timeout: string },
    ) => {
      const api = client();
      const rollback = unwrap(
        await api.POST('/api/v1/deployments/{id}/rollback', {
          params: { path: { id } },
          body: { reason: opts.reason, override: overrideOf(opts.overrideReason) },
        }),
      );
      if (!opts.wait) {
        return output(
          rollback,
          () =>
            `Rollback ${rollback.rollback_id} of ${id} initiated (operation ${rollback.operation_id})`,
        );
      }
      note(`Rolling back ${id}: deployment ${rollback.rollback_id}`);
      const operation = await waitFor(api, rollback.operation_id, {
        timeout: opts.timeout,
        logs: true,
      });
      output({ rollback, operation }, () => outcomeLine(operation));
    },
  );

program
  .command('status')
  .description('Show a deployment or an operation')
  .argument('<id>', 'a deployment id or an operation id')
  .action(async (id: string) => {
    const api = client();
    const deployment = await api.GET('/api/v1/deployments/{id}', { params: { path: { id } } });
    if (deployment.response.status !== 404) {
      const d = unwrap(deployment);
      return output(d, () => describeDeployment(d));
    }
    const operation = unwrap(
      await api.GET('/api/v1/operations/{id}', { params: { path: { id } } }),
    );
    output(operation, () => describeOperation(operation));
  });

program
  .command('list')
  .description('List deployments, newest first')
  .option('--service <name>')
  .option('--env <environment>')
  .option('--status <status>')
  .option('--page <n>', 'page number (default 1)')
  .option('--cursor <cursor>', 'the items after a page: the cursor its answer printed')
  .option('--per-page <n>', 'rows per page (1-100)', '20')
  .action(
    async (opts: {
      service?: string;
      env?: string;
      status?: string;
      page?: string;
      cursor?: string;
      perPage: string;
    }) => {
      const list = unwrap(
        await client().GET('/api/v1/deployments', {
          params: {
            query: {
              service: opts.service,
              environment: opts.env,
              status: opts.status as Deployment['status'] | undefined,
              page: opts.page === undefined ? undefined : Number(opts.page),
              cursor: opts.cursor,
              per_page: Number(opts.perPage),
            },
          },
        }),
      );
      output(list, () =>
        [
          ...list.deployments.map(describeDeployment),
          list.total === undefined
            ? `(${list.deployments.length})`
            : `(${list.deployments.length} of ${list.total}, page ${list.page})`,
          ...(list.next_cursor
            ? [`more: add --cursor ${list.next_cursor} (and the same filters)`]
            : []),
        ].join('\n'),
      );
    },
  );

program
  .command('logs')
  .description('Print the output of an operation')
  .argument('<operation-id>')
  .option('--follow', 'keep printing until the operation ends')
  .option('--timeout <duration>', 'with --follow: give up after this long (exit 4)', '1h')
  .action(async (id: string, opts: { follow?: boolean; timeout: string }) => {
    const api = client();
    if (opts.follow) {
      const operation = await followOperation(api, id, {
        timeoutMs: parseDuration(opts.timeout),
        logs: true,
        tty: false,
        out: process.stdout,
      });
      process.exitCode = exitCodeFor(operation);
      return;
    }
    for (let after = 0; ;) {
      const page = unwrap(
        await api.GET('/api/v1/operations/{id}/logs', {
          params: { path: { id }, query: { after } },
        }),
      );
      for (const line of page.lines) print(globals().json ? JSON.stringify(line) : line.text);
      if (page.lines.length === 0) break;
      after = page.next;
    }
  });

program
  .command('wait')
  .description('Wait for an operation to end; the exit code says how it ended')
  .argument('<operation-id>')
  .option('--timeout <duration>', 'give up after this long (exit 4)', '10m')
  .option('--logs', 'print its log lines too')
  .action(async (id: string, opts: { timeout: string; logs?: boolean }) => {
    const operation = await waitFor(client(), id, {
      timeout: opts.timeout,
      logs: Boolean(opts.logs),
    });
    output(operation, () => outcomeLine(operation));
  });

const keys = program.command('keys').description('Manage API keys');
keys
  .command('create')
  .requiredOption('--name <name>')
  .requiredOption(
    '--permissions <list>',
    'comma-separated, e.g. deployments:read,deployments:create',
  )
  .option('--environments <list>', "comma-separated environment names, or '*'", '*')
  .option('--expires-at <time>', 'RFC 3339 time when the key stops working')
  .action(
    async (opts: {
      name: string;
      permissions: string;
      environments: string;
      expiresAt?: string;
    }) => {
      const key = unwrap(
        await client().POST('/api/v1/auth/keys', {
          body: {
            name: opts.name,
            permissions: opts.permissions
              .split(',')
              .map((p) => p.trim()) as components['schemas']['CreateApiKeyDto']['permissions'],
            environments: opts.environments.split(',').map((e) => e.trim()),
            expires_at: opts.expiresAt,
          },
        }),
      );
      output(
        key,
        () => `Created key ${key.id} (${key.name}). Its secret, shown only now:\n${key.secret}`,
      );
    },
  );
keys.command('list').action(async () => {
  const { keys: list } = unwrap(await client().GET('/api/v1/auth/keys'));
  output(list, () =>
    list
      .map(
        (k) =>
          `${k.id}  ${k.prefix}…  ${k.name}  [${k.permissions.join(',')}] @ ${k.environments.join(',')}${k.revoked_at ? '  revoked' : ''}`,
      )
      .join('\n'),
  );
});
keys
  .command('revoke')
  .argument('<key-id>')
  .action(async (id: string) => {
    unwrap(await client().DELETE('/api/v1/auth/keys/{id}', { params: { path: { id } } }));
    output({ id, revoked: true }, () => `Revoked ${id}`);
  });

program
  .command('whoami')
  .description('Show the API key in use')
  .action(async () => {
    const me = unwrap(await client().GET('/api/v1/auth/whoami'));
    output(
      me,
      () =>
        `${me.name} (${me.prefix}…): ${me.permissions.join(', ')} on ${me.environments.join(', ')}`,
    );
  });

const APPROVAL_POLL_MS = 1000;

/**
 * While a deployment awaits approval, says so on stderr ("waiting for approvals (1/2)") each time
 * the count moves. Returns once its rollout may start; a rejection or a timed-out wait exits 7
 * with the reason, a cancel exits 5.
 */
async function waitForApprovals(api: FlightdeckClient, deployment: Deployment, deadline: number) {
  let shown = '';
  for (let d = deployment; ; d = await getDeployment(api, d.id)) {
    if (d.status === 'rejected') {
      const { events } = unwrap(
        await api.GET('/api/v1/deployments/{id}/events', { params: { path: { id: d.id } } }),
      );
      throw new CliError(
        `Deployment ${d.id} was rejected: ${events.at(-1)?.message ?? 'rejected'}`,
        ExitCode.Blocked,
      );
    }
    if (d.status === 'cancelled')
      throw new CliError(
        `Deployment ${d.id} was cancelled while it awaited approval`,
        ExitCode.Cancelled,
      );
    if (d.status !== 'awaiting_approval') return;
    const line = `waiting for approvals (${d.approvals?.received ?? 0}/${d.approvals?.required ?? '?'})`;
    if (line !== shown) note(line);
    shown = line;
    if (Date.now() >= deadline)
      throw new CliError(
        `Timed out; deployment ${d.id} is still awaiting approval (${d.approvals?.received ?? 0}/${d.approvals?.required ?? '?'})`,
        ExitCode.TimedOut,
      );
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(APPROVAL_POLL_MS, Math.max(0, deadline - Date.now()))),
    );
  }
}

program
  .command('approvals')
  .description('List the deployments awaiting approval that you may review, oldest first')
  .action(async () => {
    const { deployments } = unwrap(await client().GET('/api/v1/approvals'));
    output(deployments, () =>
      deployments.length
        ? deployments
            .map(
              (d) =>
                `${d.id}  ${d.service} ${d.version} → ${d.environment}  by ${d.created_by}  ` +
                `${d.approvals?.received ?? 0}/${d.approvals?.required ?? '?'} approvals  since ${d.created_at}`,
            )
            .join('\n')
        : 'Nothing awaits your approval',
    );
  });

async function review(id: string, decision: 'approve' | 'reject', comment?: string) {
  const answer = unwrap(
    await client().POST('/api/v1/deployments/{id}/reviews', {
      params: { path: { id } },
      body: { decision, comment },
    }),
  );
  const d = answer.deployment;
  output(answer, () =>
    decision === 'reject'
      ? `Rejected ${d.service} ${d.version} → ${d.environment} (${d.id})`
      : d.status === 'awaiting_approval'
        ? `Approved (${d.approvals?.received}/${d.approvals?.required}); more approvals needed`
        : `Approved (${d.approvals?.received}/${d.approvals?.required}); the rollout starts: operation ${d.operation_id}`,
  );
}

program
  .command('approve')
  .description('Approve a deployment awaiting approval (deployments:approve; not your own)')
  .argument('<deployment-id>')
  .option('--comment <text>')
  .action((id: string, opts: { comment?: string }) => review(id, 'approve', opts.comment));

program
  .command('reject')
  .description('Reject a deployment awaiting approval: it ends rejected')
  .argument('<deployment-id>')
  .requiredOption('--comment <text>', 'why (shown to whoever requested it)')
  .action((id: string, opts: { comment: string }) => review(id, 'reject', opts.comment));

const overrideOf = (reason?: string) => (reason === undefined ? undefined : { reason });

/** `deploy --dry-run`: every gate's answer; exit 7 when one blocks. */
async function preflight(
  api: FlightdeckClient,
  request: {
    service: string;
    version: string;
    environment: string;
    override?: { reason: string };
  },
) {
  const answer = unwrap(await api.POST('/api/v1/deployments/preflight', { body: request }));
  const mark = { passed: '✔', blocked: '✘', pending: '…' } as const;
  output(answer, () =>
    [
      ...answer.gates.map((g) => `${mark[g.status]} ${g.type}: ${g.reason}`),
      answer.allowed
        ? `May deploy ${request.service} ${request.version} to ${request.environment}${answer.needs_approval ? ', after approval' : ''}`
        : `Blocked: ${request.service} ${request.version} cannot be deployed to ${request.environment} now`,
    ].join('\n'),
  );
  if (!answer.allowed) process.exitCode = ExitCode.Blocked;
}

/** A comma-separated flag as a list (`undefined` stays undefined). */
const listOf = (text?: string) => text?.split(',').map((item) => item.trim());

program
  .command('state')
  .description(
    'What runs where: current, previous and in-flight version per service and environment',
  )
  .option('--service <name>')
  .option('--env <environment>')
  .option('--page <n>', 'page number (default 1)')
  .option('--per-page <n>', 'rows per page (1-100)', '50')
  .action(async (opts: { service?: string; env?: string; page?: string; perPage: string }) => {
    const answer = unwrap(
      await client().GET('/api/v1/state', {
        params: {
          query: {
            service: opts.service,
            environment: opts.env,
            page: opts.page === undefined ? undefined : Number(opts.page),
            per_page: Number(opts.perPage),
          },
        },
      }),
    );
    output(answer, () =>
      [
        ...answer.state.map(
          (row) =>
            `${row.service} @ ${row.environment}: ${row.current?.version ?? '—'}` +
            `${row.previous ? ` (before: ${row.previous.version})` : ''}` +
            `${row.in_flight ? `  → ${row.in_flight.version} ${row.in_flight.status} ${row.in_flight.progress}%` : ''}` +
            `${row.lock ? `  locked by ${row.lock.created_by.name}: ${row.lock.reason}` : ''}` +
            `${row.frozen ? '  frozen' : ''}`,
        ),
        `(${answer.state.length} of ${answer.total}, page ${answer.page})`,
      ].join('\n'),
    );
  });

const describeLock = (l: Lock) =>
  `${l.id}  ${l.service ?? '(every service)'} @ ${l.environment}  by ${l.created_by.name}: ${l.reason}` +
  `${l.expires_at ? `  until ${l.expires_at}` : ''}`;

program
  .command('lock')
  .description(
    'Lock an environment (or one service in it): only you may deploy there until unlocked',
  )
  .requiredOption('--env <environment>')
  .option('--service <name>', 'lock only this service (default: every service)')
  .requiredOption('--reason <text>', 'why, shown to whoever is blocked')
  .option('--expires <duration>', 'release by itself after this long, e.g. 2h')
  .action(async (opts: { env: string; service?: string; reason: string; expires?: string }) => {
    const expiresAt = opts.expires
      ? new Date(Date.now() + parseDuration(opts.expires)).toISOString()
      : undefined;
    const lock = unwrap(
      await client().POST('/api/v1/locks', {
        body: {
          environment: opts.env,
          service: opts.service,
          reason: opts.reason,
          expires_at: expiresAt,
        },
      }),
    );
    output(lock, () => `Locked: ${describeLock(lock)}`);
  });

program
  .command('unlock')
  .description('Release a lock (yours, or any with deployments:override)')
  .argument('<lock-id>')
  .action(async (id: string) => {
    unwrap(await client().DELETE('/api/v1/locks/{id}', { params: { path: { id } } }));
    output({ id, released: true }, () => `Released lock ${id}`);
  });

program
  .command('locks')
  .description('List the active locks')
  .option('--env <environment>')
  .option('--service <name>')
  .action(async (opts: { env?: string; service?: string }) => {
    const { locks } = unwrap(
      await client().GET('/api/v1/locks', {
        params: { query: { environment: opts.env, service: opts.service } },
      }),
    );
    output(locks, () => (locks.length ? locks.map(describeLock).join('\n') : 'No active locks'));
  });

const describeFreeze = (f: Freeze) =>
  `${f.id}  ${f.name}  ${f.environments.join(',')}${f.services ? ` (${f.services.join(',')})` : ''}  ` +
  (f.cron
    ? `every "${f.cron}" ${f.timezone} for ${f.duration_minutes} min`
    : `${f.starts_at} → ${f.ends_at}`);

const freeze = program.command('freeze').description('Freeze windows: no rollouts while one is on');
freeze
  .command('create')
  .description('A one-off window (--starts-at/--ends-at) or a recurring one (--cron/--duration)')
  .requiredOption('--name <name>')
  .requiredOption('--env <list>', "comma-separated environments, or '*'")
  .option('--service <list>', 'comma-separated services (default: every service)')
  .option('--starts-at <time>', 'one-off: RFC 3339 start (default: now)')
  .option('--ends-at <time>', 'one-off: RFC 3339 end')
  .option('--cron <expression>', "recurring: five cron fields, e.g. '0 18 * * 5'")
  .option('--duration <duration>', 'recurring: how long each window lasts, e.g. 62h')
  .option('--timezone <iana>', 'recurring: the time zone of the cron, e.g. Europe/Berlin')
  .action(
    async (opts: {
      name: string;
      env: string;
      service?: string;
      startsAt?: string;
      endsAt?: string;
      cron?: string;
      duration?: string;
      timezone?: string;
    }) => {
      const recurring = opts.cron !== undefined;
      const created = unwrap(
        await client().POST('/api/v1/freezes', {
          body: {
            name: opts.name,
            environments: listOf(opts.env)!,
            services: listOf(opts.service),
            ...(recurring
              ? {
                  cron: opts.cron,
                  duration_minutes: opts.duration
                    ? Math.round(parseDuration(opts.duration) / 60_000)
                    : undefined,
                  timezone: opts.timezone,
                }
              : {
                  starts_at: opts.startsAt ?? new Date().toISOString(),
                  ends_at: opts.endsAt,
                }),
          },
        }),
      );
      output(created, () => `Created freeze ${describeFreeze(created)}`);
    },
  );
freeze
  .command('list')
  .description('List the freeze windows')
  .action(async () => {
    const { freezes } = unwrap(await client().GET('/api/v1/freezes'));
    output(freezes, () =>
      freezes.length ? freezes.map(describeFreeze).join('\n') : 'No freeze windows',
    );
  });
freeze
  .command('delete')
  .argument('<freeze-id>')
  .action(async (id: string) => {
    unwrap(await client().DELETE('/api/v1/freezes/{id}', { params: { path: { id } } }));
    output({ id, deleted: true }, () => `Deleted freeze ${id}`);
  });
freeze
  .command('status')
  .description('Whether an environment (and service) is frozen now, and until when')
  .requiredOption('--env <environment>')
  .option('--service <name>')
  .action(async (opts: { env: string; service?: string }) => {
    const status = unwrap(
      await client().GET('/api/v1/freezes/status', {
        params: { query: { environment: opts.env, service: opts.service } },
      }),
    );
    const change = status.next_change_at ? ` (changes at ${status.next_change_at})` : '';
    output(status, () =>
      [
        `${status.frozen ? 'Frozen' : 'Not frozen'}${change}`,
        ...status.active.map((f) => `  ${describeFreeze(f)}`),
      ].join('\n'),
    );
  });

async function getDeployment(api: FlightdeckClient, id: string): Promise<Deployment> {
  return unwrap(await api.GET('/api/v1/deployments/{id}', { params: { path: { id } } }));
}

async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? ExitCode.Succeeded : ExitCode.Usage;
      return;
    }
    if (error instanceof CliError) {
      note(`flightdeck: ${error.message}`);
      process.exitCode = error.exitCode;
      return;
    }
    note(`flightdeck: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = ExitCode.Failed;
  }
}

void main(process.argv);
