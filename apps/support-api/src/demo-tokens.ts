/** A ready-made token for the demo, with a curl line to try it. */
export interface DemoToken {
  label: string;
  token: string;
  curl: string;
}

/** Tokens the demo prints for support-api (baseUrl like http://localhost:3001). */
export function supportDemoTokens(_secret: string, _baseUrl: string): DemoToken[] {
  return [];
}
