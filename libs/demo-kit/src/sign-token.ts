import { sign } from 'jsonwebtoken';

/** Claims of a demo token. */
export interface DemoTokenClaims {
  tenantId: string;
  userId: string;
  role: string;
}

/** Signs an HS256 token with the demo apps' claim names (`tenant_id`, `sub`, `role`). */
export function signToken(
  secret: string,
  claims: DemoTokenClaims,
  expiresIn: `${number}${'s' | 'm' | 'h' | 'd'}` = '12h',
): string {
  return sign({ tenant_id: claims.tenantId, role: claims.role }, secret, {
    algorithm: 'HS256',
    subject: claims.userId,
    expiresIn,
  });
}
