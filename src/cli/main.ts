#!/usr/bin/env node
// The `flightdeck` command: deploy, roll back and follow rollouts from a pipeline or a terminal.
import { Command, CommanderError, Option } from 'commander';
import type { components } from './api-schema';
import { createFlightdeckClient, FlightdeckClient, unwrap } from './client';
import { CliError, ExitCode } from './exit-codes';
import { exitCodeFor, followOperation, parseDuration } from './follow';

type Deployment = components['schemas']['DeploymentResponseDto'];
type Operation = components['schemas']['OperationResponseDto'];

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
  .option('--wait', 'follow the rollout until it ends; exit code says how it ended')
  .option('--timeout <duration>', 'with --wait: give up after this long (exit 4)', '10m')
  .action(
    async (opts: {
      service: string;
      version: string;
      env: string;
      description?: string;
      wait?: boolean;
      timeout: string;
    }) => {
      const api = client();
      const deployment = unwrap(
        await api.POST('/api/v1/deployments', {
          body: {
            service: opts.service,
            version: opts.version,
            environment: opts.env,
            description: opts.description,
          },
        }),
      );
      if (!opts.wait) return output(deployment, () => describeDeployment(deployment));
      note(
        `Deploying ${deployment.service} ${deployment.version} to ${deployment.environment}: deployment ${deployment.id}`,
      );
      const operation = await waitFor(api, deployment.operation_id, {
        timeout: opts.timeout,
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
  .option('--wait', 'follow the rollback until it ends')
  .option('--timeout <duration>', 'with --wait: give up after this long (exit 4)', '10m')
  .action(async (id: string, opts: { reason?: string; wait?: boolean; timeout: string }) => {
    const api = client();
    const rollback = unwrap(
      await api.POST('/api/v1/deployments/{id}/rollback', {
        params: { path: { id } },
        body: { reason: opts.reason },
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
  });

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
