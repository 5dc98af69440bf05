import { ValidateIf } from 'class-validator';

/**
 * Validates an optional PATCH field only when it is sent: unlike @IsOptional(), an explicit
 * `null` is still validated (and refused by the field's rules).
 */
export const ValidateIfPresent = (): PropertyDecorator =>
  ValidateIf((_: object, value: unknown) => value !== undefined);
