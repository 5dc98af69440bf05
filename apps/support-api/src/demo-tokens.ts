import { signToken } from '@app/demo-kit';
import { supportDemoUsers } from './demo-users';

/** A ready-made token for the demo, with a curl line to try it. */
export interface DemoToken {
  label: string;
  token: string;
  curl: string;
}

const TRY: Record<'agent' | 'admin', string> = {
  agent: '/tickets',
  admin: '/kb/articles?q=password',
};

/** Tokens the demo prints for support-api (baseUrl like http://localhost:3001). */
export function supportDemoTokens(secret: string, baseUrl: string): DemoToken[] {
  return supportDemoUsers().map((user) => ({
    label: `support-api: ${user.tenant} ${user.role} (user ${user.userId})`,
    token: signToken(secret, { tenantId: user.tenantId, userId: user.userId, role: user.role }),
    curl: `curl -H "Authorization: Bearer $TOKEN" "${baseUrl}${TRY[user.role]}"`,
  }));
}
