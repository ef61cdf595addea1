import { Controller, INestApplication } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-code.enum';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { Database } from '../database/database';
import { DatabaseModule } from '../database/database.module';
import { ApiKey } from './api-key.entity';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { Public, RequirePermissions } from './auth.decorators';
import { Permission } from './permission.enum';
import { Principal } from './principal';

const ADMIN_SECRET = 'fdk_unit_admin_secret_0123456789abcdef';

@Controller('open')
class PublicRoutes {
  @Public()
  health(): string {
    return 'ok';
  }
}

@Controller('deployments')
class DeploymentRoutes {
  @RequirePermissions(Permission.DeploymentsCreate)
  create(): string {
    return 'created';
  }

  @RequirePermissions()
  whoami(): string {
    return 'me';
  }

  undeclared(): string {
    return 'nobody may see this';
  }
}

@Controller('mixed')
@RequirePermissions(Permission.KeysManage)
class MixedRoutes {
  @Public()
  openInsideGuardedController(): string {
    return 'ok';
  }

  inheritsControllerPermission(): string {
    return 'ok';
  }
}

@Controller('status')
@Public()
class PublicRoutesWithGuardedMethod {
  @RequirePermissions(Permission.KeysManage)
  rotateStatusToken(): string {
    return 'rotated';
  }

  status(): string {
    return 'ok';
  }
}

type GuardedRequest = Request & { principal?: Principal };

function requestWith(authorization?: string): GuardedRequest {
  return { headers: authorization === undefined ? {} : { authorization } } as GuardedRequest;
}

function contextFor(
  controller: new () => object,
  handler: (...args: never[]) => unknown,
  request: GuardedRequest,
): ExecutionContextHost {
  const next = () => undefined;
  return new ExecutionContextHost([request, {}, next], controller as never, handler);
}

/** The error `work` rejects with; fails the test when it resolves. */
async function rejectionOf(work: Promise<unknown>): Promise<ApiError> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected the guard to refuse the request, but it let it through');
}

describe('ApiKeyGuard', () => {
  let app: INestApplication;
  let guard: ApiKeyGuard;
  let apiKeys: ApiKeysService;
  let admin: Principal;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(
          AppConfig.fromEnvironment({
            DATABASE_URL: 'sqlite::memory:',
            FLIGHTDECK_ADMIN_KEY: ADMIN_SECRET,
          }),
        ),
        DatabaseModule,
        DatabaseModule.forFeature([ApiKey]),
      ],
      providers: [ApiKeysRepository, ApiKeysService, ApiKeyGuard],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    guard = app.get(ApiKeyGuard);
    apiKeys = app.get(ApiKeysService);
    admin = await apiKeys.authenticate(ADMIN_SECRET);
  });

  afterEach(async () => {
    // Key use is recorded in the background; one more write waits for it before the database closes.
    await app.get(Database).transaction(() => Promise.resolve());
    await app.close();
  });

  let keysMade = 0;
  const newKey = (permissions: Permission[], environments = ['staging'], expiresAt?: string) =>
    apiKeys.create(admin, {
      name: `ci-${++keysMade}`, // names are unique among active keys
      permissions,
      environments,
      ...(expiresAt ? { expires_at: expiresAt } : {}),
    });

  it('should let a request to a public route through without an Authorization header', async () => {
    const request = requestWith();

    await expect(
      guard.canActivate(contextFor(PublicRoutes, PublicRoutes.prototype.health, request)),
    ).resolves.toBe(true);
    expect(request.principal).toBeUndefined();
  });

  it('should let a public route inside a guarded controller through without a key', async () => {
    await expect(
      guard.canActivate(
        contextFor(MixedRoutes, MixedRoutes.prototype.openInsideGuardedController, requestWith()),
      ),
    ).resolves.toBe(true);
  });

  it('should require the permission a route declares even inside a @Public() controller', async () => {
    const guarded = PublicRoutesWithGuardedMethod.prototype.rotateStatusToken;
    const open = PublicRoutesWithGuardedMethod.prototype.status;

    const unauthenticated = await rejectionOf(
      guard.canActivate(contextFor(PublicRoutesWithGuardedMethod, guarded, requestWith())),
    );
    expect(unauthenticated.code).toBe(ErrorCode.AuthenticationError);
    expect(unauthenticated.message).toMatch(/Missing Authorization header/);

    const key = await newKey([Permission.DeploymentsRead]);
    const unauthorized = await rejectionOf(
      guard.canActivate(
        contextFor(PublicRoutesWithGuardedMethod, guarded, requestWith(`Bearer ${key.secret}`)),
      ),
    );
    expect(unauthorized.code).toBe(ErrorCode.AuthorizationError);
    expect(unauthorized.message).toContain(Permission.KeysManage);

    const manager = await newKey([Permission.KeysManage]);
    await expect(
      guard.canActivate(
        contextFor(PublicRoutesWithGuardedMethod, guarded, requestWith(`Bearer ${manager.secret}`)),
      ),
    ).resolves.toBe(true);

    const request = requestWith();
    await expect(
      guard.canActivate(contextFor(PublicRoutesWithGuardedMethod, open, request)),
    ).resolves.toBe(true);
    expect(request.principal).toBeUndefined();
  });

  it('should refuse a request without an Authorization header with authentication_error', async () => {
    const error = await rejectionOf(
      guard.canActivate(
        contextFor(DeploymentRoutes, DeploymentRoutes.prototype.create, requestWith()),
      ),
    );

    expect(error.code).toBe(ErrorCode.AuthenticationError);
    expect(error.message).toMatch(/Missing Authorization header/);
  });

  it.each([
    ['another scheme', `Basic ${ADMIN_SECRET}`],
    ['an empty bearer token', 'Bearer '],
    ['a token with a space in it', `Bearer ${ADMIN_SECRET} extra`],
    ['a token over 512 characters', `Bearer ${'a'.repeat(513)}`],
  ])(
    'should refuse a malformed Authorization header (%s) with authentication_error',
    async (_, header) => {
      const error = await rejectionOf(
        guard.canActivate(
          contextFor(DeploymentRoutes, DeploymentRoutes.prototype.create, requestWith(header)),
        ),
      );

      expect(error.code).toBe(ErrorCode.AuthenticationError);
      expect(error.message).toMatch(/Malformed Authorization header/);
    },
  );

  it('should refuse an unknown secret with authentication_error', async () => {
    const request = requestWith('Bearer fdk_this_key_was_never_issued_to_anyone');

    const error = await rejectionOf(
      guard.canActivate(contextFor(DeploymentRoutes, DeploymentRoutes.prototype.create, request)),
    );

    expect(error.code).toBe(ErrorCode.AuthenticationError);
    expect(error.message).toBe('Invalid API key');
    expect(request.principal).toBeUndefined();
  });

  it('should refuse a valid key lacking the route permission with authorization_error naming it', async () => {
    const key = await newKey([Permission.DeploymentsRead]);

    const error = await rejectionOf(
      guard.canActivate(
        contextFor(
          DeploymentRoutes,
          DeploymentRoutes.prototype.create,
          requestWith(`Bearer ${key.secret}`),
        ),
      ),
    );

    expect(error.code).toBe(ErrorCode.AuthorizationError);
    expect(error.message).toContain(Permission.DeploymentsCreate);
  });

  it('should apply a permission declared on the controller to its undecorated routes', async () => {
    const key = await newKey([Permission.DeploymentsRead]);

    const error = await rejectionOf(
      guard.canActivate(
        contextFor(
          MixedRoutes,
          MixedRoutes.prototype.inheritsControllerPermission,
          requestWith(`Bearer ${key.secret}`),
        ),
      ),
    );

    expect(error.code).toBe(ErrorCode.AuthorizationError);
    expect(error.message).toContain(Permission.KeysManage);
  });

  it("should let a key holding the permission through and set req.principal to the key's grants", async () => {
    const key = await newKey(
      [Permission.DeploymentsCreate, Permission.DeploymentsRead],
      ['staging', 'production'],
    );
    const request = requestWith(`Bearer ${key.secret}`);

    await expect(
      guard.canActivate(contextFor(DeploymentRoutes, DeploymentRoutes.prototype.create, request)),
    ).resolves.toBe(true);

    expect(request.principal).toEqual({
      keyId: key.id,
      name: key.name,
      prefix: key.prefix,
      permissions: [Permission.DeploymentsCreate, Permission.DeploymentsRead],
      environments: ['staging', 'production'],
      expiresAt: null,
    });
  });

  it('should let any valid key through a route that requires no particular permission', async () => {
    const key = await newKey([Permission.AuditRead]);
    const request = requestWith(`Bearer ${key.secret}`);

    await expect(
      guard.canActivate(contextFor(DeploymentRoutes, DeploymentRoutes.prototype.whoami, request)),
    ).resolves.toBe(true);
    expect(request.principal?.keyId).toBe(key.id);
  });

  it('should refuse a route that declares neither @Public nor @RequirePermissions, even for the admin key', async () => {
    const error = await rejectionOf(
      guard.canActivate(
        contextFor(
          DeploymentRoutes,
          DeploymentRoutes.prototype.undeclared,
          requestWith(`Bearer ${ADMIN_SECRET}`),
        ),
      ),
    );

    expect(error.code).toBe(ErrorCode.AuthorizationError);
    expect(error.message).toMatch(/declares no permission/);
  });

  it('should refuse a revoked key with authentication_error', async () => {
    const key = await newKey([Permission.DeploymentsCreate]);
    const context = () =>
      contextFor(
        DeploymentRoutes,
        DeploymentRoutes.prototype.create,
        requestWith(`Bearer ${key.secret}`),
      );
    await expect(guard.canActivate(context())).resolves.toBe(true);

    await apiKeys.revoke(admin, key.id);

    const error = await rejectionOf(guard.canActivate(context()));
    expect(error.code).toBe(ErrorCode.AuthenticationError);
    expect(error.message).toBe('API key has been revoked');
  });

  it('should refuse a key once it has expired with authentication_error', async () => {
    const expiresAt = new Date(Date.now() + 300).toISOString();
    const key = await newKey([Permission.DeploymentsCreate], ['staging'], expiresAt);
    const context = () =>
      contextFor(
        DeploymentRoutes,
        DeploymentRoutes.prototype.create,
        requestWith(`Bearer ${key.secret}`),
      );
    await expect(guard.canActivate(context())).resolves.toBe(true);

    await delay(Date.parse(expiresAt) - Date.now() + 20);

    const error = await rejectionOf(guard.canActivate(context()));
    expect(error.code).toBe(ErrorCode.AuthenticationError);
    expect(error.message).toBe('API key has expired');
  });
});
