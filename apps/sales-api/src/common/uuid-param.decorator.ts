import { Param } from '@nestjs/common';
import { UuidPipe } from './uuid.pipe';

/** A uuid route parameter, `@UuidParam('id') id: string`; anything else is a 400 naming it. */
export const UuidParam = (name: string): ParameterDecorator => Param(name, new UuidPipe(name));
