import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
} from 'class-validator';

/** The environment variables Flightdeck reads; validated once at start-up. */
class EnvironmentVariables {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
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
  @IsString()
  @Matches(/^\S{16,}$/, {
    message: 'FLIGHTDECK_ADMIN_KEY must be at least 16 characters without spaces',
  })
  FLIGHTDECK_ADMIN_KEY?: string;

  @IsOptional()
  @IsString()
  FLIGHTDECK_CONFIG?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  FLIGHTDECK_SIMULATED_DURATION_MS = 2000;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(500)
  FLIGHTDECK_OPERATION_LEASE_MS = 15000;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  FLIGHTDECK_SHUTDOWN_GRACE_MS = 10000;

  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV?: string;
}

export type DatabaseSettings =
  { type: 'better-sqlite3'; database: string } | { type: 'postgres'; url: string };

/** Typed, validated settings. Inject it by class: `constructor(private readonly config: AppConfig)`. */
export class AppConfig {
  readonly port: number;
  readonly host: string;
  readonly database: DatabaseSettings;
  readonly redisUrl?: string;
  readonly adminKey?: string;
  readonly driversConfigPath?: string;
  readonly simulatedDurationMs: number;
  /** A running operation whose runner has not sent a heartbeat for this long is orphaned. */
  readonly operationLeaseMs: number;
  /** On shutdown, how long running operations may take to finish before they are stopped. */
  readonly shutdownGraceMs: number;

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
  }

  /** Reads and validates settings; throws one error naming every bad variable. */
  static fromEnvironment(source: NodeJS.ProcessEnv = process.env): AppConfig {
    const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
    const env = plainToInstance(EnvironmentVariables, present);
    const errors = validateSync(env, { whitelist: false });
    if (errors.length > 0) {
      const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}));
      throw new Error(`Invalid configuration:\n  - ${lines.join('\n  - ')}`);
    }
    return new AppConfig(env);
  }
}

function parseDatabaseUrl(url: string): DatabaseSettings {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return { type: 'postgres', url };
  }
  return { type: 'better-sqlite3', database: url.slice('sqlite:'.length) };
}
