import { formatDuration } from './format-duration';

/** The comment the SLA job adds to every ticket it escalates. */
export function slaCommentBody(olderThanMs: number): string {
  return `Priority raised to high by the SLA job: open for more than ${formatDuration(olderThanMs)}.`;
}
