import { KeysetPageQuery } from '@app/demo-kit';

/** Query of `GET /tickets/:id/comments`: keyset pagination, oldest first. */
export class ListCommentsQuery extends KeysetPageQuery {}
