import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { Repository } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { ApiError } from '../common/errors/api-error';
import { AppConfig } from '../config/app-config';
import { Database, isUniqueViolation } from '../database/database';
import { nowIso } from '../database/columns';
import { ApiKey } from './api-key.entity';
import {
  ApiKeyResponseDto,
  CreatedApiKeyResponseDto,
  WhoAmIResponseDto,
} from './dto/api-key-response.dto';
import { CreateApiKeyDto } from './dto/create-api-key.dto';
import { ALL_ENVIRONMENTS, ALL_PERMISSIONS } from './permission.enum';
import { coversAllEnvironments, Principal } from './principal';
import { generateSecret, hashSecret, shownPrefix } from './secret';

/** How stale `last_used_at` may get before a request refreshes it (saves a write per request). */
const LAST_USED_RESOLUTION_MS = 60_000;
/** A key revoked on another replica stops working here within this long. */
export const KEY_CACHE_MS = 1000;
const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;

/**
 * A key as the cache keeps it, with what every request asks of it worked out once (its
 * principal, its expiry, when its use was last recorded).
 */
interface KnownKey {
  key: ApiKey;
  principal: Principal;
  expiresAtMs: number;
  lastUsedAtMs: number;
}

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeys');
  private readonly byRequest = new WeakMap<object, Promise<Principal>>();
  /** Keys revoked here so far: a lookup that saw one happen keeps its answer out of the cache. */
  private revocations = 0;
  private readonly recent = new LRUCache<string, { known: KnownKey | null }>({
    max: 10_000,
    ttl: KEY_CACHE_MS,
    allowStale: false,
  });

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    private readonly db: Database,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.ensureBootstrapKey();
  }

  /**
   * The principal of a request, authenticated once however many places ask (the rate limiter,
   * the idempotency middleware, the guard): the answer, or the 401, is kept for that request.
   */
  authenticateRequest(req: { headers: { authorization?: string } }): Promise<Principal> {
    let answer = this.byRequest.get(req);
    if (!answer) {
      answer = this.authenticateHeader(req.headers.authorization);
      answer.catch(() => undefined); // a caller that ignores the failure must not leave it unhandled
      this.byRequest.set(req, answer);
    }
    return answer;
  }

  /** The principal behind an `Authorization: Bearer <secret>` header; every failure is a 401 with a reason. */
  private async authenticateHeader(header: string | undefined): Promise<Principal> {
    if (!header) {
      throw ApiError.unauthenticated(
        'Missing Authorization header; send "Authorization: Bearer <api key>"',
      );
    }
    const match = BEARER.exec(header);
    if (!match)
      throw ApiError.unauthenticated('Malformed Authorization header; expected "Bearer <api key>"');
    return this.authenticate(match[1]);
  }

  /** The principal behind a secret; every failure is a 401 with a reason. */
  async authenticate(secret: string): Promise<Principal> {
    const known = await this.lookup(hashSecret(secret));
    if (!known) throw ApiError.unauthenticated('Invalid API key');
    const { key } = known;
    if (key.revokedAt) throw ApiError.unauthenticated('API key has been revoked');
    const now = Date.now();
    if (known.expiresAtMs <= now) throw ApiError.unauthenticated('API key has expired');
    this.touch(known, now);
    return known.principal;
  }

  async create(creator: Principal, dto: CreateApiKeyDto): Promise<CreatedApiKeyResponseDto> {
    const beyondPermissions = dto.permissions.filter((p) => !creator.permissions.includes(p));
    if (beyondPermissions.length > 0) {
      throw ApiError.forbidden(
        `A key cannot grant permissions it does not hold: ${beyondPermissions.join(', ')}`,
      );
    }
    if (!coversAllEnvironments(creator)) {
      const beyond = dto.environments.filter((e) => !creator.environments.includes(e));
      if (beyond.length > 0) {
        throw ApiError.forbidden(
          `A key cannot grant environments it does not hold: ${beyond.join(', ')}`,
        );
      }
    }
    const expiresAt = dto.expires_at ? new Date(dto.expires_at).toISOString() : null;
    if (expiresAt && expiresAt <= nowIso()) {
      throw ApiError.validation('expires_at must be in the future', [
        { field: 'expires_at', message: 'expires_at must be in the future' },
      ]);
    }
    const environments = dto.environments.includes(ALL_ENVIRONMENTS)
      ? [ALL_ENVIRONMENTS]
      : dto.environments;
    const secret = generateSecret();
    const key = await this.insert(secret, {
      name: dto.name,
      permissions: dto.permissions,
      environments,
      expiresAt,
      createdByKeyId: creator.keyId,
    });
    return { ...toResponse(key), secret };
  }

  /** The keys the caller may manage: all of them, or for a key limited to environments, those within its own. */
  async list(principal: Principal): Promise<ApiKeyResponseDto[]> {
    const keys = await this.keys.find({ order: { createdAt: 'DESC', id: 'DESC' } });
    return keys.filter((key) => isWithinScope(principal, key)).map(toResponse);
  }

  /** Revokes a key; revoking one already revoked changes nothing. */
  async revoke(principal: Principal, id: string): Promise<void> {
    const hash = await this.db.transaction(async (manager) => {
      const key = await manager.findOneBy(ApiKey, { id });
      if (!key || !isWithinScope(principal, key)) throw ApiError.notFound('API key', id);
      if (!key.revokedAt) await manager.update(ApiKey, { id }, { revokedAt: nowIso() });
      return key.secretHash;
    });
    // Once committed: a lookup that read the key before then must not put it back in the cache.
    this.revocations++;
    this.recent.delete(hash);
  }

  /**
   * The key with this hash, from a cache of one second: every request needs it, and a second is
   * how long a key revoked on another replica may still work here.
   */
  private async lookup(hash: string): Promise<KnownKey | null> {
    const cached = this.recent.get(hash);
    if (cached) return cached.known;
    const revocations = this.revocations;
    const key = await this.keys.findOneBy({ secretHash: hash });
    const known = key && {
      key,
      principal: toPrincipal(key),
      expiresAtMs: key.expiresAt ? Date.parse(key.expiresAt) : Infinity,
      lastUsedAtMs: key.lastUsedAt ? Date.parse(key.lastUsedAt) : -Infinity,
    };
    if (revocations === this.revocations) this.recent.set(hash, { known });
    return known;
  }

  whoami(principal: Principal): WhoAmIResponseDto {
    return {
      id: principal.keyId,
      name: principal.name,
      prefix: principal.prefix,
      permissions: principal.permissions,
      environments: principal.environments,
      expires_at: principal.expiresAt,
    };
  }

  /**
   * `FLIGHTDECK_ADMIN_KEY` makes its key exist (the unique hash makes that safe across replicas);
   * with neither that nor any key, a fresh admin key is made and its secret printed this once.
   */
  private async ensureBootstrapKey(): Promise<void> {
    const admin = { name: 'admin', permissions: ALL_PERMISSIONS, environments: [ALL_ENVIRONMENTS] };
    if (this.config.adminKey) {
      if (this.config.adminKey.length < 24) {
        this.logger.warn(
          'FLIGHTDECK_ADMIN_KEY is short; use a long random secret (e.g. openssl rand -base64 32)',
        );
      }
      const existing = await this.keys.findOneBy({ secretHash: hashSecret(this.config.adminKey) });
      if (existing) {
        if (existing.revokedAt)
          this.logger.warn('FLIGHTDECK_ADMIN_KEY names a revoked key; it stays revoked');
        return;
      }
      try {
        await this.insert(this.config.adminKey, admin);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error; // another replica created it first
      }
      return;
    }
    if ((await this.keys.count()) > 0) return;
    const secret = generateSecret();
    await this.insert(secret, admin);
    process.stdout.write(
      `\nFlightdeck created an admin API key. Its secret is shown only now; store it:\n\n  ${secret}\n\n`,
    );
  }

  private async insert(
    secret: string,
    fields: Pick<ApiKey, 'name' | 'permissions' | 'environments'> & Partial<ApiKey>,
  ): Promise<ApiKey> {
    const key = this.keys.create({
      id: uuidv7(),
      prefix: shownPrefix(secret),
      secretHash: hashSecret(secret),
      createdAt: nowIso(),
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      createdByKeyId: null,
      ...fields,
    });
    await this.db.transaction((manager) => manager.insert(ApiKey, key));
    return key;
  }

  private touch(known: KnownKey, now: number): void {
    if (now - known.lastUsedAtMs < LAST_USED_RESOLUTION_MS) return;
    known.lastUsedAtMs = now; // in the cache too, so the next requests do not write again
    const lastUsedAt = new Date(now).toISOString();
    this.db
      .transaction((manager) => manager.update(ApiKey, { id: known.key.id }, { lastUsedAt }))
      .catch((error: unknown) => this.logger.warn(`could not record key use: ${String(error)}`));
  }
}

/** A key limited to environments manages only keys limited to some of those environments. */
function isWithinScope(principal: Principal, key: ApiKey): boolean {
  if (coversAllEnvironments(principal)) return true;
  return (
    !key.environments.includes(ALL_ENVIRONMENTS) &&
    key.environments.every((e) => principal.environments.includes(e))
  );
}

function toPrincipal(key: ApiKey): Principal {
  return {
    keyId: key.id,
    name: key.name,
    prefix: key.prefix,
    permissions: key.permissions,
    environments: key.environments,
    expiresAt: key.expiresAt,
  };
}

function toResponse(key: ApiKey): ApiKeyResponseDto {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    permissions: key.permissions,
    environments: key.environments,
    expires_at: key.expiresAt,
    created_at: key.createdAt,
    last_used_at: key.lastUsedAt,
    revoked_at: key.revokedAt,
  };
}
