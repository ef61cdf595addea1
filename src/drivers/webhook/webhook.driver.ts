import { createHmac } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Type } from 'class-transformer';
import { Equals, IsInt, IsOptional, IsUrl, Matches, Max, Min } from 'class-validator';
import { withoutQueryValues } from '../../common/urls';
import { OperationFailure } from '../../operations/operation-handler';
import { DeploymentJob, Driver, DriverRun } from '../driver';
import { HasNoCredentials } from '../settings-validators';

export class WebhookSettings {
  @Equals('webhook')
  driver: 'webhook';

  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  @HasNoCredentials()
  url: string;

  /** The environment variable holding the HMAC secret that signs each request. */
  @Matches(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'secret_env must name an environment variable' })
  secret_env: string;

  /** Per attempt. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  timeout_seconds: number = 30;

  /** Further attempts after a connection error, timeout or 5xx. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10)
  retries: number = 3;

  /** The first wait between attempts; it doubles each time. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  backoff_ms: number = 1000;
}

const EXCERPT_CHARS = 300;

/**
 * POSTs the deployment as JSON to a URL, signed with `X-Flightdeck-Signature: sha256=<HMAC>`.
 * 2xx is success; another 4xx fails at once; connection errors, timeouts and 5xx are retried
 * with exponential backoff a bounded number of times.
 */
export class WebhookDriver implements Driver {
  private readonly secret: string;
  /** The URL as logs and messages show it: anyone with `operations:read` reads those. */
  private readonly shownUrl: string;

  constructor(private readonly settings: WebhookSettings) {
    const secret = process.env[settings.secret_env];
    if (!secret) throw new Error(`secret_env names ${settings.secret_env}, which is not set`);
    this.secret = secret;
    this.shownUrl = redactUrl(settings.url);
  }

  async deploy(job: DeploymentJob, run: DriverRun): Promise<void> {
    const body = JSON.stringify({
      event: `deployment.${job.kind}`,
      deployment_id: job.deploymentId,
      operation_id: job.operationId,
      service: job.service,
      version: job.version,
      environment: job.environment,
      previous_version: job.previousVersion,
    });
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': 'Flightdeck-Webhook/1',
      'X-Flightdeck-Event': `deployment.${job.kind}`,
      'X-Flightdeck-Delivery': job.operationId,
      'X-Flightdeck-Signature': `sha256=${createHmac('sha256', this.secret).update(body).digest('hex')}`,
    };
    const attempts = this.settings.retries + 1;
    let lastProblem = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      run.log('system', `POST ${this.shownUrl} (attempt ${attempt} of ${attempts})`);
      const timeout = AbortSignal.timeout(this.settings.timeout_seconds * 1000);
      try {
        const response = await fetch(this.settings.url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.any([run.signal, timeout]),
        });
        const excerpt = (await response.text()).slice(0, EXCERPT_CHARS);
        run.log('system', `${this.shownUrl} answered ${response.status}`);
        if (response.ok) return;
        lastProblem = `answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`;
        if (response.status < 500) {
          throw new OperationFailure('webhook_rejected', `${this.shownUrl} ${lastProblem}`);
        }
      } catch (error) {
        if (error instanceof OperationFailure || run.signal.aborted) throw error;
        lastProblem = timeout.aborted
          ? `did not answer within ${this.settings.timeout_seconds}s`
          : `could not be reached: ${describeFetchError(error).replaceAll(this.settings.url, this.shownUrl)}`;
        run.log('system', `${this.shownUrl} ${lastProblem}`);
      }
      if (attempt < attempts) {
        await delay(this.settings.backoff_ms * 2 ** (attempt - 1), undefined, {
          signal: run.signal,
        });
      }
    }
    throw new OperationFailure(
      'webhook_failed',
      `${this.shownUrl} ${lastProblem} (after ${attempts} attempts)`,
    );
  }
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/**
 * A URL without what may be secret in it: its origin and path, every query value as `***`
 * (`https://hooks.example.com/deploy?token=***`). Credentials are refused at start-up; the
 * origin leaves them out all the same.
 */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  return withoutQueryValues(`${url.origin}${url.pathname}${url.search}`);
}
