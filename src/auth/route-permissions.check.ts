import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { PATH_METADATA } from '@nestjs/common/constants';
import { IS_PUBLIC, REQUIRED_PERMISSIONS } from './auth.decorators';

/** Refuses to start when a route says neither `@Public()` nor `@RequirePermissions()`. */
@Injectable()
export class RoutePermissionsCheck implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const open = this.unguardedRoutes();
    if (open.length > 0) {
      throw new Error(`Routes without @Public() or @RequirePermissions(): ${open.join(', ')}`);
    }
  }

  unguardedRoutes(): string[] {
    const open: string[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as object | undefined;
      const metatype = wrapper.metatype;
      if (!instance || !metatype) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[name] as () => unknown;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const targets = [handler, metatype];
        const declared =
          this.reflector.getAllAndOverride(IS_PUBLIC, targets) !== undefined ||
          this.reflector.getAllAndOverride(REQUIRED_PERMISSIONS, targets) !== undefined;
        if (!declared) open.push(`${metatype.name}.${name}`);
      }
    }
    return open;
  }
}
