import { ApiProperty } from '@nestjs/swagger';
import { Account } from './account.entity';

/** An account as the API returns it. */
export class AccountResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ type: String, nullable: true })
  domain: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;

  static from(account: Account): AccountResponse {
    return {
      id: account.id,
      name: account.name,
      domain: account.domain,
      createdAt: account.createdAt.toISOString(),
    };
  }
}

/** One page of `GET /accounts`, by name; `nextCursor` is null on the last page. */
export class AccountListResponse {
  @ApiProperty({ type: [AccountResponse] })
  items: AccountResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
