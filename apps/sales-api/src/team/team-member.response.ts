import { ApiProperty } from '@nestjs/swagger';
import { TeamMember } from './team-member.entity';

/** A team member as the API returns it. */
export class TeamMemberResponse {
  @ApiProperty({ format: 'uuid' })
  userId: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  managerId: string | null;

  static from(member: TeamMember): TeamMemberResponse {
    return { userId: member.userId, name: member.name, managerId: member.managerId };
  }
}

/** One page of `GET /team/members`, by name; `nextCursor` is null on the last page. */
export class TeamMemberListResponse {
  @ApiProperty({ type: [TeamMemberResponse] })
  items: TeamMemberResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
