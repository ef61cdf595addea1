import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from './api-key.entity';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysService } from './api-keys.service';
import { AuthController } from './auth.controller';
import { RoutePermissionsCheck } from './route-permissions.check';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey]), DiscoveryModule],
  controllers: [AuthController],
  providers: [ApiKeysService, RoutePermissionsCheck, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeysService],
})
export class AuthModule {}
