/** The states a ticket moves through; new tickets are `open`. */
export const TICKET_STATUSES = ['open', 'pending', 'solved', 'closed'] as const;

/** A ticket's state. */
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** How urgent a ticket is; the default is `normal`. */
export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

/** A ticket's priority. */
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];
