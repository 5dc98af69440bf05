/** A ready-made token for the demo, with a curl line to try it. */
export interface DemoToken {
  label: string;
  token: string;
  curl: string;
}

/** Tokens the demo prints for sales-api (baseUrl like http://localhost:3002). */
export function salesDemoTokens(_secret: string, _baseUrl: string): DemoToken[] {
  return [];
}
