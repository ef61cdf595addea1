import { Injectable, PipeTransform } from '@nestjs/common';
import { ApiError } from './errors/api-error';

const PLAUSIBLE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Path ids are opaque: one that could never match a row (control bytes, spaces, overlong) is
 * answered 404 here, before it reaches a database that might choke on it.
 */
@Injectable()
export class ResourceIdPipe implements PipeTransform<string, string> {
  constructor(private readonly resource: string) {}

  transform(id: string): string {
    if (!PLAUSIBLE_ID.test(id))
      throw ApiError.notFound(this.resource, JSON.stringify(id).slice(1, 70));
    return id;
  }
}
