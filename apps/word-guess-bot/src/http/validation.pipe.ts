import { type ValidationError, ValidationPipe } from '@nestjs/common';
import { httpError } from './error-body.js';

/** class-validator on request bodies; a bad body is 400 `INVALID_ARGUMENT` naming every failing field. */
export function bodyValidation(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors: ValidationError[]) => {
      const fields = errors.map(({ property, constraints }) => ({ property, constraints: constraints ?? {} }));
      const message = fields.flatMap((field) => Object.values(field.constraints)).join('; ') || 'Invalid request body';
      return httpError(400, 'INVALID_ARGUMENT', message, { fields });
    },
  });
}
