import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { PATH_METADATA } from '@nestjs/common/constants';
import { routeAccess } from './api-key.guard';

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
        if (!routeAccess(this.reflector, handler, metatype)) open.push(`${metatype.name}.${name}`);
      }
    }
    return open;
  }
}
