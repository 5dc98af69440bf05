/** The stages of a deal, in pipeline order. */
export const DEAL_STAGES = [
  'prospecting',
  'qualification',
  'proposal',
  'negotiation',
  'won',
  'lost',
] as const;

/** One of {@link DEAL_STAGES}. */
export type DealStage = (typeof DEAL_STAGES)[number];
