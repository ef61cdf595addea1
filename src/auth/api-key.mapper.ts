import type { ApiKey } from './api-key.entity';
import type {
  ApiKeyResponseDto,
  CreatedApiKeyResponseDto,
  WhoAmIResponseDto,
} from './dto/api-key-response.dto';
import type { Principal } from './principal';

/** API keys as the API shows them: never their hash; the secret only in the creation's answer. */

export function toApiKeyResponse(key: ApiKey): ApiKeyResponseDto {
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

export function toCreatedApiKeyResponse(key: ApiKey, secret: string): CreatedApiKeyResponseDto {
  return { ...toApiKeyResponse(key), secret };
}

/** The key making a request, from its principal (`GET /auth/whoami`). */
export function toWhoAmIResponse(principal: Principal): WhoAmIResponseDto {
  return {
    id: principal.keyId,
    name: principal.name,
    prefix: principal.prefix,
    permissions: principal.permissions,
    environments: principal.environments,
    expires_at: principal.expiresAt,
  };
}
