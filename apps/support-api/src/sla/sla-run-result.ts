/** What one SLA run did. */
export interface SlaRunResult {
  /** Active tenants found. */
  tenants: number;
  /** Tickets escalated, per tenant id (0 included), for every tenant whose run committed. */
  escalated: Record<string, number>;
  /** Tenant ids whose run failed (rolled back, logged); the others still ran. */
  failed: string[];
}
