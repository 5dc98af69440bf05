import { BadRequestException, PipeTransform } from '@nestjs/common';
import { isUUID } from 'class-validator';

/** Passes a uuid route parameter (any version, as PostgreSQL) lower-cased; else 400 naming it. */
export class UuidPipe implements PipeTransform<unknown, string> {
  constructor(private readonly name: string) {}

  transform(value: unknown): string {
    if (!isUUID(value, 'loose')) throw new BadRequestException([`${this.name} must be a UUID`]);
    return (value as string).toLowerCase();
  }
}
