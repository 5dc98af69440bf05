/**
 * The user id the SLA job acts as (`app.user_id` of its transactions): the author of its comments
 * and the actor of its audit entries. Fixed and documented, so it is recognisable everywhere.
 */
export const SLA_SYSTEM_USER_ID = '00000000-0000-4000-8000-0000000005a1';

/** The role the SLA job acts as (`app.role`); no token may carry it. */
export const SLA_SYSTEM_ROLE = 'system';
