import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import createClient from 'openapi-fetch';
import type { paths } from './api-schema';
import { CliError, ExitCode, exitCodeForStatus } from './exit-codes';
import { visible } from './visible';

export type FlightdeckClient = ReturnType<typeof createClient<paths>>;

const ATTEMPTS = 5;
const FIRST_BACKOFF_MS = 500;

/**
 * A fetch that retries connection errors and 5xx answers with backoff. POSTs carry an
 * `Idempotency-Key` that stays the same across the retries, so a retry never deploys twice.
 */
function retryingFetch(onRetry: (why: string) => void): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    if (request.method === 'POST' && !request.headers.has('Idempotency-Key')) {
      request.headers.set('Idempotency-Key', randomUUID());
    }
    const body = request.body ? await request.arrayBuffer() : undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const response = await fetch(new Request(request, { body }));
        if (response.status < 500 || attempt === ATTEMPTS) return response;
        onRetry(`server answered ${response.status}`);
      } catch (error) {
        lastError = error;
        if (attempt === ATTEMPTS) break;
        onRetry(`cannot reach ${new URL(request.url).origin}`);
      }
      await delay(FIRST_BACKOFF_MS * 2 ** (attempt - 1));
    }
    const { cause } = lastError as { cause?: { code?: string; message?: string } };
    const why = cause?.code ?? cause?.message ?? String(lastError);
    throw new CliError(
      `Cannot reach Flightdeck at ${new URL(request.url).origin} (${why})`,
      ExitCode.Unreachable,
    );
  };
}

export function createFlightdeckClient(
  url: string,
  apiKey: string,
  onRetry: (why: string) => void,
): FlightdeckClient {
  return createClient<paths>({
    baseUrl: url.replace(/\/+$/, ''),
    headers: { Authorization: `Bearer ${apiKey}` },
    fetch: retryingFetch(onRetry),
  });
}

interface ApiAnswer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The data of a successful answer; an error answer becomes a CliError with the API's message.
 * Every answer of every command passes here, so this is where what the server says is made
 * {@link visible}: nothing from it reaches the terminal with its control characters.
 */
export function unwrap<T>(answer: ApiAnswer<T>): T {
  if (answer.response.ok) return visible(answer.data as T);
  const error = visible(answer.error) as {
    error?: string;
    message?: string;
    details?: {
      errors?: Array<{ message: string }>;
      gates?: Array<{ type: string; reason: string }>;
    };
  };
  const lines = [
    ...(error?.details?.errors ?? []).map((e) => e.message),
    ...(error?.details?.gates ?? []).map((g) => `${g.type}: ${g.reason}`),
  ];
  const details = lines.map((line) => `\n  - ${line}`).join('');
  const message = `${error?.message ?? `HTTP ${answer.response.status}`} (${error?.error ?? answer.response.status})${details}`;
  throw new CliError(message, exitCodeForStatus(answer.response.status, error?.error));
}
