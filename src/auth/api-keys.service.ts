import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import { ApiError } from '../common/errors/api-error';
import { byCreation, ListPaging, PaginationQueryDto, Position } from '../common/pagination';
import { AppConfig } from '../config/app-config';
import { Database, isUniqueViolation } from '../database/database';
import { nowIso } from '../database/columns';
import { ApiKey } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import { toApiKeyResponse, toCreatedApiKeyResponse } from './api-key.mapper';
import { ApiKeyListResponseDto, CreatedApiKeyResponseDto } from './dto/api-key-response.dto';
import { CreateApiKeyDto } from './dto/create-api-key.dto';
import { ALL_ENVIRONMENTS, ALL_PERMISSIONS } from './permission.enum';
import { coversAllEnvironments, Principal } from './principal';
import { generateSecret, hashSecret, shownPrefix } from './secret';

/** How stale `last_used_at` may get before a request refreshes it (saves a write per request). */
const LAST_USED_RESOLUTION_MS = 60_000;
/** A key revoked on another replica stops working here within this long. */
export const KEY_CACHE_MS = 1000;
const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;
const PAGES = new ListPaging<ApiKey>('keys', byCreation);

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
    private readonly keys: ApiKeysRepository,
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
    assertCanManage(creator, 'create', dto);
    const expiresAt = this.expiryWithin(creator, dto.expires_at);
    const environments = dto.environments.includes(ALL_ENVIRONMENTS)
      ? [ALL_ENVIRONMENTS]
      : dto.environments;
    const secret = generateSecret();
    const fields = {
      name: dto.name,
      permissions: dto.permissions,
      environments,
      expiresAt,
      createdByKeyId: creator.keyId,
    };
    let key: ApiKey;
    try {
      key = await this.insert(secret, fields, creator);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw ApiError.conflict(`An active API key is already named '${dto.name}'`, {
        errors: [{ field: 'name', message: `name '${dto.name}' is taken by an active key` }],
      });
    }
    return toCreatedApiKeyResponse(key, secret);
  }

  /**
   * A new key's expiry: never after its creator's. Left out, it is the creator's own; asked for
   * later than that, a 400 rather than quietly a shorter life than the caller wrote.
   */
  private expiryWithin(creator: Principal, requested: string | undefined): string | null {
    const expiresAt = requested ? new Date(requested).toISOString() : creator.expiresAt;
    const field = (message: string) =>
      ApiError.validation(message, [{ field: 'expires_at', message }]);
    if (requested && expiresAt! <= nowIso()) throw field('expires_at must be in the future');
    if (creator.expiresAt && expiresAt! > creator.expiresAt) {
      throw field(
        `expires_at cannot be later than the creating key's own expiry (${creator.expiresAt})`,
      );
    }
    return expiresAt;
  }

  /**
   * A page of the keys the caller may manage: all of them, or for a key limited to environments,
   * those within its own. Keys are few and "within its environments" is no SQL condition on a
   * JSON list, so the page is cut from the visible keys here.
   */
  async list(principal: Principal, query: PaginationQueryDto): Promise<ApiKeyListResponseDto> {
    const window = PAGES.window(query);
    const visible = (await this.keys.listAll())
      .filter((key) => isWithinScope(principal, key))
      .sort((a, b) => compareNewestFirst(byCreation(a), byCreation(b)));
    const after = window.after;
    const start = after
      ? visible.findIndex((key) => compareNewestFirst(byCreation(key), after) > 0)
      : (window.offset ?? 0);
    const rows = start < 0 ? [] : visible.slice(start, start + window.limit);
    const { rows: shown, page } = PAGES.page(rows, query, visible.length);
    return { keys: shown.map(toApiKeyResponse), ...page };
  }

  /**
   * Revokes a key and every key made by it, by those, and so on: a key never outlives its creator
   * (a leaked key's revocation also ends the keys it minted). Revoking one already revoked changes
   * nothing. A key made by another holds at most its creator's permissions and environments, so a
   * caller that may revoke the key may revoke all of them.
   */
  async revoke(principal: Principal, id: string): Promise<void> {
    const hashes = await this.db.transaction(async () => {
      const key = await this.keys.findById(id);
      // Out of the caller's environments it is as if it did not exist, as everywhere else.
      if (!key || !isWithinScope(principal, key)) throw ApiError.notFound('API key', id);
      assertCanManage(principal, 'revoke', key);
      if (key.revokedAt) return [];
      const revokedAt = nowIso();
      // The key's own row first: a key being created by it (which locks this row) is then seen below.
      await this.keys.revoke([id], revokedAt);
      const revoked = [key];
      for (let made = [key.id]; made.length > 0;) {
        const children = await this.keys.findActiveCreatedBy(made);
        made = children.map((child) => child.id);
        if (made.length > 0) await this.keys.revoke(made, revokedAt);
        revoked.push(...children);
      }
      return revoked.map((k) => k.secretHash);
    });
    // Once committed: a lookup that read a key before then must not put it back in the cache.
    this.revocations++;
    for (const hash of hashes) this.recent.delete(hash);
  }

  /**
   * The key with this hash, from a cache of one second: every request needs it, and a second is
   * how long a key revoked on another replica may still work here.
   */
  private async lookup(hash: string): Promise<KnownKey | null> {
    const cached = this.recent.get(hash);
    if (cached) return cached.known;
    const revocations = this.revocations;
    const key = await this.keys.findBySecretHash(hash);
    const known = key && {
      key,
      principal: toPrincipal(key),
      expiresAtMs: key.expiresAt ? Date.parse(key.expiresAt) : Infinity,
      lastUsedAtMs: key.lastUsedAt ? Date.parse(key.lastUsedAt) : -Infinity,
    };
    if (revocations === this.revocations) this.recent.set(hash, { known });
    return known;
  }

  /**
   * `FLIGHTDECK_ADMIN_KEY` makes its key exist (the unique hash makes that safe across replicas);
   * with neither that nor any key, a fresh admin key is made and its secret printed this once.
   * A revoked key stays revoked: the way back is a new secret, which makes a new admin key, named
   * `admin`, or `admin (<prefix>)` while another active key holds that name.
   */
  private async ensureBootstrapKey(): Promise<void> {
    const admin = { permissions: ALL_PERMISSIONS, environments: [ALL_ENVIRONMENTS] };
    const secret = this.config.adminKey;
    if (secret) {
      if (secret.length < 24) {
        this.logger.warn(
          'FLIGHTDECK_ADMIN_KEY is short; use a long random secret (e.g. openssl rand -base64 32)',
        );
      }
      const existing = await this.keys.findBySecretHash(hashSecret(secret));
      if (existing) {
        if (existing.revokedAt) {
          this.logger.warn(
            'FLIGHTDECK_ADMIN_KEY names a revoked key; it stays revoked. Set a new secret to get a new admin key',
          );
        } else if (!holdsAll(existing, admin)) {
          // Made by an older version: "every permission" grew since.
          await this.db.transaction(() =>
            this.keys.setAccess(existing.id, admin.permissions, admin.environments),
          );
          this.logger.log(`FLIGHTDECK_ADMIN_KEY: gave '${existing.name}' every permission`);
        }
        return;
      }
      for (const name of ['admin', `admin (${shownPrefix(secret)})`]) {
        try {
          await this.insert(secret, { ...admin, name });
          this.logger.log(`FLIGHTDECK_ADMIN_KEY: created the admin key '${name}'`);
          return;
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          // Another replica created it first, or the name is taken: then try the next one.
          if (await this.keys.findBySecretHash(hashSecret(secret))) return;
        }
      }
      throw new Error(
        'FLIGHTDECK_ADMIN_KEY: could not create its key, its names are taken by active keys',
      );
    }
    if ((await this.keys.count()) > 0) return;
    const generated = generateSecret();
    await this.insert(generated, { ...admin, name: 'admin' });
    process.stdout.write(
      `\nFlightdeck created an admin API key. Its secret is shown only now; store it:\n\n  ${generated}\n\n`,
    );
  }

  /**
   * Writes a new key. Names are unique among keys not revoked (a partial unique index, so
   * simultaneous creations cannot both win): an expired key of the same name is dead anyway, and
   * is marked revoked in the same transaction so it no longer holds the name. A key made by another
   * is refused if its creator was revoked meanwhile (the creator's row is locked on PostgreSQL, so
   * a revocation either sees the new key or happens first).
   */
  private async insert(
    secret: string,
    fields: Pick<ApiKey, 'name' | 'permissions' | 'environments'> & Partial<ApiKey>,
    creator?: Principal,
  ): Promise<ApiKey> {
    const now = nowIso();
    const key: ApiKey = Object.assign(new ApiKey(), {
      id: uuidv7(),
      prefix: shownPrefix(secret),
      secretHash: hashSecret(secret),
      createdAt: now,
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
      createdByKeyId: null,
      ...fields,
    });
    await this.db.transaction(async () => {
      if (creator) {
        const current = await this.keys.findByIdAndLock(creator.keyId);
        if (!current || current.revokedAt)
          throw ApiError.unauthenticated('API key has been revoked');
      }
      await this.keys.revokeExpiredNamed(key.name, now);
      await this.keys.insert(key);
    });
    return key;
  }

  private touch(known: KnownKey, now: number): void {
    if (now - known.lastUsedAtMs < LAST_USED_RESOLUTION_MS) return;
    known.lastUsedAtMs = now; // in the cache too, so the next requests do not write again
    const lastUsedAt = new Date(now).toISOString();
    this.db
      .transaction(() => this.keys.recordUse(known.key.id, lastUsedAt))
      .catch((error: unknown) => this.logger.warn(`could not record key use: ${String(error)}`));
  }
}

/** Whether a key holds every one of these permissions and environments. */
function holdsAll(key: ApiKey, access: Pick<ApiKey, 'permissions' | 'environments'>): boolean {
  return (
    access.permissions.every((p) => key.permissions.includes(p)) &&
    access.environments.every((e) => key.environments.includes(e))
  );
}

/** A key limited to environments manages only keys limited to some of those environments. */
function isWithinScope(principal: Principal, key: ApiKey): boolean {
  if (coversAllEnvironments(principal)) return true;
  return (
    !key.environments.includes(ALL_ENVIRONMENTS) &&
    key.environments.every((e) => principal.environments.includes(e))
  );
}

/**
 * A key creates or revokes only keys within what it holds itself: their every permission and
 * environment. Otherwise a 403 naming what it lacks (a key with just `keys:manage` must not revoke
 * the admin key, nor mint one).
 */
function assertCanManage(
  principal: Principal,
  action: 'create' | 'revoke',
  key: Pick<ApiKey, 'permissions' | 'environments'>,
): void {
  const permissions = key.permissions.filter((p) => !principal.permissions.includes(p));
  if (permissions.length > 0) {
    throw ApiError.forbidden(
      `This API key cannot ${action} a key with permissions it does not hold: ${permissions.join(', ')}`,
    );
  }
  if (coversAllEnvironments(principal)) return;
  const environments = key.environments.filter((e) => !principal.environments.includes(e));
  if (environments.length > 0) {
    throw ApiError.forbidden(
      `This API key cannot ${action} a key with environments it does not hold: ${environments.join(', ')}`,
    );
  }
}

/** Orders list positions newest first: negative when `a` comes before `b`. */
function compareNewestFirst(a: Position, b: Position): number {
  if (a[0] !== b[0]) return a[0] > b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] > b[1] ? -1 : 1;
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
