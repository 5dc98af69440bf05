import { ValidateBy, ValidationOptions } from 'class-validator';

/** True for a finite number with at most `places` decimal places (for 2: 12.34, not 12.345 or 1e-7). */
export function hasMaxDecimalPlaces(value: unknown, places: number): boolean {
  return (
    typeof value === 'number' && Number.isFinite(value) && Number(value.toFixed(places)) === value
  );
}

/**
 * A finite number with at most `places` decimal places. Use it instead of class-validator's
 * `@IsNumber({ maxDecimalPlaces })`, which (in 0.15.1) throws on a number printed in exponent form
 * such as 1e-7 and so turns bad input into a 500.
 */
export const MaxDecimalPlaces = (places: number, options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'maxDecimalPlaces',
      constraints: [places],
      validator: {
        validate: (value: unknown) => hasMaxDecimalPlaces(value, places),
        defaultMessage: () => `$property must be a number with at most ${places} decimal places`,
      },
    },
    options,
  );
