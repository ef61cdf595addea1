import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';

/** A database of its own for one test file: a temporary SQLite file, or a fresh PostgreSQL database. */
export interface TestDatabase {
  url: string;
  /** Settings that point the app at this database, and, when `REDIS_URL` is set, at a queue of its own. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** Deletes the Redis keys a test's queue and rate limiter left under `prefix`. */
async function dropQueueKeys(prefix: string): Promise<void> {
  if (!process.env.REDIS_URL) return;
  const redis = new Redis(process.env.REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** With `REDIS_URL` set, the app runs operations through BullMQ under a prefix no other test uses. */
function queueSettings(name: string): Record<string, string> {
  const redis = process.env.REDIS_URL;
  return redis ? { REDIS_URL: redis, FLIGHTDECK_QUEUE_PREFIX: name } : {};
}

/**
 * With `DATABASE_URL=postgres://…` the e2e suite runs on PostgreSQL: each test file creates its
 * own database beside that one and drops it at the end, so runs never share state.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (base?.startsWith('postgres')) {
    const name = `fd_e2e_${randomBytes(6).toString('hex')}`;
    const admin = new Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      env: { DATABASE_URL: url.toString(), ...queueSettings(name) },
      drop: async () => {
        const client = new Client({ connectionString: base });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
        await dropQueueKeys(name);
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'fd-e2e-'));
  const url = `sqlite:${join(dir, 'flightdeck.db')}`;
  const prefix = `fd_e2e_${randomBytes(6).toString('hex')}`;
  return {
    url,
    env: { DATABASE_URL: url, ...queueSettings(prefix) },
    drop: async () => {
      rmSync(dir, { recursive: true, force: true });
      await dropQueueKeys(prefix);
    },
  };
}
