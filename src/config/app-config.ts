import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  validateSync,
} from 'class-validator';

const Integer =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (target: object, key: string) => {
    IsOptional()(target, key);
    Type(() => Number)(target, key);
    IsInt()(target, key);
    Min(min)(target, key);
    Max(max)(target, key);
  };

/** The environment variables Flightdeck reads; validated once at start-up. */
class EnvironmentVariables {
  @Integer(0, 65535)
  PORT = 3000;

  @IsOptional()
  @IsString()
  HOST = '0.0.0.0';

  @IsOptional()
  @Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, {
    message:
      'DATABASE_URL must be sqlite:<path>, sqlite::memory: or postgres://user:pass@host:port/db',
  })
  DATABASE_URL = 'sqlite:./data/flightdeck.db';

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be redis://host:port' })
  REDIS_URL?: string;

  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,512}$/, {
    message: 'FLIGHTDECK_ADMIN_KEY must be 1-512 printable ASCII characters without spaces',
  })
  FLIGHTDECK_ADMIN_KEY?: string;

  @IsOptional()
  @IsString()
  FLIGHTDECK_CONFIG?: string;

  @Integer(0)
  FLIGHTDECK_SIMULATED_DURATION_MS = 2000;

  @Integer(500)
  FLIGHTDECK_OPERATION_LEASE_MS = 15000;

  @Integer(0)
  FLIGHTDECK_SHUTDOWN_GRACE_MS = 10000;

  @Integer(100)
  FLIGHTDECK_APPROVAL_SWEEP_MS = 30000;

  @Integer(10)
  FLIGHTDECK_LOG_LINES_PER_OPERATION = 10000;

  @Integer(1, 1000)
  FLIGHTDECK_WORKER_CONCURRENCY = 50;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_.:-]{1,64}$/, {
    message: 'FLIGHTDECK_QUEUE_PREFIX must be 1-64 of A-Z a-z 0-9 _ . : -',
  })
  FLIGHTDECK_QUEUE_PREFIX = 'flightdeck';

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  FLIGHTDECK_LOG_LEVEL = 'info';

  @IsOptional()
  @IsIn(['json', 'pretty'], { message: 'FLIGHTDECK_LOG_FORMAT must be json or pretty' })
  FLIGHTDECK_LOG_FORMAT?: 'json' | 'pretty';

  @IsOptional()
  @IsString()
  NODE_ENV?: string;

  @Integer(0)
  FLIGHTDECK_RATE_LIMIT_PER_MINUTE = 1200;

  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,512}$/, {
    message: 'FLIGHTDECK_METRICS_TOKEN must be 1-512 printable ASCII characters without spaces',
  })
  FLIGHTDECK_METRICS_TOKEN?: string;

  @IsOptional()
  @IsString()
  FLIGHTDECK_CORS_ORIGINS?: string;

  @Integer(1000)
  FLIGHTDECK_REQUEST_TIMEOUT_MS = 30000;

  @IsOptional()
  @IsIn(['true', 'false'])
  FLIGHTDECK_TRUST_PROXY = 'false';

  @IsOptional()
  @IsUrl(
    {
      protocols: ['http', 'https'],
      require_protocol: true,
      require_tld: false,
      disallow_auth: true,
      allow_query_components: false,
      allow_fragments: false,
    },
    {
      message:
        'FLIGHTDECK_PUBLIC_URL must be an http(s) URL without credentials, query or fragment, e.g. https://deploy.example.com',
    },
  )
  FLIGHTDECK_PUBLIC_URL?: string;
}

export type DatabaseSettings =
  { type: 'better-sqlite3'; database: string } | { type: 'postgres'; url: string };

/** Typed, validated settings. Inject it by class: `constructor(private readonly config: AppConfig)`. */
export class AppConfig {
  readonly port: number;
  readonly host: string;
  readonly database: DatabaseSettings;
  /** Set: operations go through BullMQ on this Redis, and every replica runs workers. */
  readonly redisUrl?: string;
  readonly adminKey?: string;
  readonly driversConfigPath?: string;
  readonly simulatedDurationMs: number;
  /** A running operation whose runner has not sent a heartbeat for this long is orphaned. */
  readonly operationLeaseMs: number;
  /** How often a replica ends deployments whose wait for approvals timed out. */
  readonly approvalSweepMs: number;
  /** On shutdown, how long running operations may take to finish before they are stopped. */
  readonly shutdownGraceMs: number;
  /** Each operation keeps at most this many of its newest log lines. */
  readonly logLinesPerOperation: number;
  /** With Redis: how many operations one replica runs at once. */
  readonly workerConcurrency: number;
  /** With Redis: the key prefix of the queue, so several installations can share one Redis. */
  readonly queuePrefix: string;
  readonly logLevel: string;
  /**
   * `json` or `pretty` when FLIGHTDECK_LOG_FORMAT says so, and `json` under NODE_ENV=production;
   * otherwise `auto`: readable lines on a terminal, JSON elsewhere (see `logFormat`).
   */
  readonly logFormat: 'json' | 'pretty' | 'auto';
  /** Requests per minute per API key (per IP without one); 0 turns limiting off. */
  readonly rateLimitPerMinute: number;
  /** When set, `GET /metrics` needs `Authorization: Bearer <this>`. */
  readonly metricsToken?: string;
  /** Origins allowed by CORS; none (CORS off) unless set. */
  readonly corsOrigins: string[];
  /** How long a client may take to send a whole request before the connection is closed. */
  readonly requestTimeoutMs: number;
  /**
   * Behind a reverse proxy: take the client address from X-Forwarded-For, and the scheme and host
   * of the URLs this server hands out from X-Forwarded-Proto/-Host.
   */
  readonly trustProxy: boolean;
  /**
   * Where clients reach this server (`https://deploy.example.com`, or with a path prefix, no
   * trailing slash): the base of the URLs it hands out (`status_url`, `Location`).
   */
  readonly publicUrl?: string;

  constructor(env: EnvironmentVariables) {
    this.port = env.PORT;
    this.host = env.HOST;
    this.database = parseDatabaseUrl(env.DATABASE_URL);
    this.redisUrl = env.REDIS_URL || undefined;
    this.adminKey = env.FLIGHTDECK_ADMIN_KEY || undefined;
    this.driversConfigPath = env.FLIGHTDECK_CONFIG || undefined;
    this.simulatedDurationMs = env.FLIGHTDECK_SIMULATED_DURATION_MS;
    this.operationLeaseMs = env.FLIGHTDECK_OPERATION_LEASE_MS;
    this.shutdownGraceMs = env.FLIGHTDECK_SHUTDOWN_GRACE_MS;
    this.approvalSweepMs = env.FLIGHTDECK_APPROVAL_SWEEP_MS;
    this.logLinesPerOperation = env.FLIGHTDECK_LOG_LINES_PER_OPERATION;
    this.workerConcurrency = env.FLIGHTDECK_WORKER_CONCURRENCY;
    this.queuePrefix = env.FLIGHTDECK_QUEUE_PREFIX;
    this.logLevel = env.FLIGHTDECK_LOG_LEVEL;
    this.logFormat = env.FLIGHTDECK_LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'auto');
    this.rateLimitPerMinute = env.FLIGHTDECK_RATE_LIMIT_PER_MINUTE;
    this.metricsToken = env.FLIGHTDECK_METRICS_TOKEN || undefined;
    this.corsOrigins = (env.FLIGHTDECK_CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    this.requestTimeoutMs = env.FLIGHTDECK_REQUEST_TIMEOUT_MS;
    this.trustProxy = env.FLIGHTDECK_TRUST_PROXY === 'true';
    this.publicUrl = env.FLIGHTDECK_PUBLIC_URL ? publicBase(env.FLIGHTDECK_PUBLIC_URL) : undefined;
  }

  /** Reads and validates settings; throws one error naming every bad variable. */
  static fromEnvironment(source: NodeJS.ProcessEnv = process.env): AppConfig {
    const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
    const env = plainToInstance(EnvironmentVariables, present);
    const errors = validateSync(env, { stopAtFirstError: true });
    if (errors.length > 0) {
      const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}));
      throw new Error(`Invalid configuration:\n  - ${lines.join('\n  - ')}`);
    }
    return new AppConfig(env);
  }
}

/** `https://host[:port][/prefix]` without a trailing slash, so a path can be appended as it is. */
function publicBase(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname.replace(/\/+$/, '');
}

function parseDatabaseUrl(url: string): DatabaseSettings {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return { type: 'postgres', url };
  }
  return { type: 'better-sqlite3', database: url.slice('sqlite:'.length) };
}
